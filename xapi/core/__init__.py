"""The pure xAPI core: statement building and checking, the Pathwise profile, evidence rules."""
