"""Retention: rules per data class, the purge job, its scheduler and PostgreSQL partitions."""
