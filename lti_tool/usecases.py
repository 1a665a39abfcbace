"""Cross-domain use cases: launch, pull, decide, recommend."""
