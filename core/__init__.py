"""drizrun's core: hook specifications, registries, configuration, orchestration, CLI."""
