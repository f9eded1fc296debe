"""Evidence bundles: what was in force at an instant, and what happened in the period before it,
in one verifiable zip (bundle.py builds it from the sections in sections.py)."""
