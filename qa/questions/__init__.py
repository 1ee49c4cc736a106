"""questions blueprint."""
