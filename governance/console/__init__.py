"""The staff console: server-rendered pages under /console for privacy staff, auditors and admins."""
