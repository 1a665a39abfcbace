"""Pathwise's deployable service: settings, database, queue, LTI 1.3 endpoints, CLI."""
