"""First-party journey analytics: the browser snippet, event ingest, staff reports and erasure."""
