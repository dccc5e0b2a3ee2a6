"""A WSGI app for tests/test_workers.py: answers with its worker's process id, after ?sleep=s."""

import os
import time
from urllib.parse import parse_qs


def app(environ, start_response):
    time.sleep(float(parse_qs(environ.get("QUERY_STRING", "")).get("sleep", ["0"])[0]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
