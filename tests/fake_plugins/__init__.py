"""Plugin modules used by the plugin-system tests."""
