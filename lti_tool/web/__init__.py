"""Web layer: the request's transaction, the LTI and learner blueprints, landing pages."""
