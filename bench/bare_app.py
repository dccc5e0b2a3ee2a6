"""The framework's ceiling: a bare Flask JSON endpoint, served on the same gunicorn settings.

gunicorn -c gunicorn.conf.py bench.bare_app:app    # GET /json
"""

from flask import Flask

app = Flask(__name__)


@app.get("/json")
def hello():
    """A small JSON object, as TechEmpower's JSON test answers."""
    return {"message": "Hello, World!"}
