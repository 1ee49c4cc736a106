"""JSON API /api/v1 for other procuratorate systems (bearer tokens, no cookies, no CSRF)."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from qa.api import views  # noqa: E402,F401  (routes register on bp)
