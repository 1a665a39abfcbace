"""Pure xAPI core: statements (build, check, read), the profile, evidence rules."""
