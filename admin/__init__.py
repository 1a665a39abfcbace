"""Admin console (web layer): views, forms and templates over the other packages' services."""
