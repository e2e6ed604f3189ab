"""pytest plugin (see arrayport.testing)."""
