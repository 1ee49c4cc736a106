"""End-to-end flows in a real browser (`make e2e`)."""
