"""Views."""
from flask import Blueprint

bp = Blueprint("main", __name__)
