"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi ...`."""
from qa import create_app

app = create_app()
