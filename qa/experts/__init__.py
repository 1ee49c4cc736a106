"""The expert pool, question handling actions, notification settings and follows (web pages)."""
