"""Use cases of the learner API (``/api/v1``), one module per part of the journey."""
