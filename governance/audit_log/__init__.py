"""The audit log's reading side: the filtered list for auditors (`GET /api/audit`), exports, and the
verification of its hash chain. Writing is `governance.core.audit.record`, open to every domain."""
