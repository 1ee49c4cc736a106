"""JSON API /api/v1 for other procuratorate systems (bearer tokens, no cookies, no CSRF)."""
from qa.api import handling as _handling  # noqa: F401 - registers the handling calls on bp
from qa.api import openapi as _openapi  # noqa: F401 - registers /openapi.json on bp
from qa.api import search as _search  # noqa: F401 - registers /search and /similar on bp
from qa.api import stats as _stats  # noqa: F401 - registers /stats on bp
from qa.api.views import bp

__all__ = ["bp"]
