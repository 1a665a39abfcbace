"""LTI 1.3 protocol: keys, tool configuration, login and launch validation, registration, deep linking."""
