"""Accounts, roles, sessions, API tokens, CSRF, login rate limiting and the audit log."""
