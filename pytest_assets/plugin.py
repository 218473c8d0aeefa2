"""pytest plugin (placeholder until the plugin issue lands): registered so the entry point loads."""
