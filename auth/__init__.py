"""Users, accounts, roles, API keys, JWT cookie sessions, CSRF and guards."""
