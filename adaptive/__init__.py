"""The adaptive learning engine: pure core beside its persistence, services and jobs."""
