"""Built-in instrument plugins."""
