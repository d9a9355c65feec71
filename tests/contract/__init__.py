"""Contract suites: the same calls against real external services, skipped without credentials."""
