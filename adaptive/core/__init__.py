"""The pure adaptive engine: catalogue, learner model, placement, policy, refreshers, fitting."""
