"""Shared infrastructure: settings, database, revision caches, crypto, queue, expiring store, shared tables."""
