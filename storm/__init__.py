"""Storm-track awareness: which communes a forecast typhoon will hit, before it hits."""
