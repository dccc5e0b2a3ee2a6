"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from signage import create_app

app = create_app()
