"""JSON API /api/v1 for other procuratorate systems (bearer tokens, no cookies, no CSRF)."""
from qa.api.views import bp

__all__ = ["bp"]
