"""drizrun's built-in plugins: ordinary plugin modules using the public hooks only."""
