"""What every domain may use: settings, database, errors, clock, audit log, exports, proxies, writers."""
