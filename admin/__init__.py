"""The admin console: views, forms and templates that call the other packages' services."""
