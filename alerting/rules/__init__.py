"""Rules: each turns the current picture (inventory, states, metrics) into conditions."""
