"""Use cases of the learner API: how a framework's level names read in a sentence."""

from __future__ import annotations


def short_level(name: str) -> str:
    """ "Guided: gets good results with…" -> "Guided" (the name before its gloss)."""
    return name.split(":", 1)[0].strip() or name
