"""Demo data."""
DEMO_PASSWORD = "demo-pass-2026"
