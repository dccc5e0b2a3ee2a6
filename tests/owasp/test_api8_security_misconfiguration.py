"""API8:2023 Security Misconfiguration: safe headers, no banner, CORS by allow-list, no debug in production.

What the app itself sends is tested here; gunicorn's own `Server` header is renamed in
gunicorn.conf.py, which is checked by loading that file and building gunicorn's headers.
"""

from __future__ import annotations

import runpy
import types
import uuid
from importlib.metadata import version
from pathlib import Path

import pytest

from signage import create_app
from signage.config import DEV_SECRET, ConfigError, load_config
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://dashboard.example.gov.cn"
PATHS = ("/api/v1/catalog", "/api/v1/shops", "/api/v1/nowhere", "/healthz", "/api/v1/openapi.json")


@pytest.mark.parametrize("path", PATHS)
def test_security_headers_on_answers_and_errors(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    for name in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "X-Request-ID", "Vary"):
        assert len(response.headers.getlist(name)) == 1, name  # each once
    if path.startswith("/api/"):  # the catalog and the document may be cached; the rest never
        assert "Cache-Control" in response.headers
        assert response.headers["Cache-Control"] == "no-store" or path.endswith(("catalog", ".json"))


@pytest.mark.parametrize("path", PATHS)
def test_no_server_banner_or_framework_version_in_answers(client, path):
    response = client.get(path)
    # (Server is gunicorn's to send, and renamed there: tested with its own headers in this module.)
    assert "X-Powered-By" not in response.headers
    text = response.get_data(as_text=True)
    for telltale in ("Werkzeug", "Traceback", "gunicorn", version("werkzeug"), f"Flask {version('flask')}"):
        assert telltale not in text, telltale


def test_gunicorn_sends_no_server_software_name_or_version():
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    from gunicorn.http import wsgi

    req = types.SimpleNamespace(version=(1, 1), method="GET", should_close=lambda: False)
    response = wsgi.Response(req, sock=None, cfg=types.SimpleNamespace())
    response.status, response.status_code = "200 OK", 200
    server = [h for h in response.default_headers() if h.lower().startswith("server:")]
    assert server and all("gunicorn" not in h.lower() and "/" not in h for h in server), server


@pytest.mark.parametrize("app_config", [{"CORS_ORIGINS": [ORIGIN]}])
def test_cors_answers_only_the_configured_origins(client):
    allowed = client.get("/api/v1/catalog", headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert allowed.headers.getlist("Vary") == ["Origin, Accept-Encoding"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    for stranger in ("https://evil.example", "null", ORIGIN + ".evil.example", "*"):
        response = client.get("/api/v1/catalog", headers={"Origin": stranger})
        assert "Access-Control-Allow-Origin" not in response.headers, stranger


@pytest.mark.parametrize("app_config", [{"CORS_ORIGINS": [ORIGIN]}])
def test_cors_preflight_names_the_methods_for_allowed_origins_only(client):
    ask = {
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, if-match",
    }
    allowed = client.options(f"/api/v1/shops/{uuid.uuid4()}", headers={"Origin": ORIGIN, **ask})
    assert allowed.status_code in (200, 204)
    assert "PATCH" in allowed.headers["Access-Control-Allow-Methods"]
    assert "If-Match" in allowed.headers["Access-Control-Allow-Headers"]
    refused = client.options(
        f"/api/v1/shops/{uuid.uuid4()}", headers={"Origin": "https://evil.example", **ask}
    )
    assert not any(h.startswith("Access-Control-Allow") for h, _ in refused.headers.items())


def test_no_cors_at_all_unless_configured(client):
    response = client.get("/api/v1/catalog", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def _production(monkeypatch, **env):
    for key in ("SECRET_KEY", "FLASK_DEBUG", "DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SIGNAGE_ENV", "production")
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    _production(monkeypatch)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config()


def test_production_refuses_the_published_development_secret(monkeypatch):
    _production(monkeypatch, SECRET_KEY=DEV_SECRET)
    with pytest.raises(ConfigError, match="development"):
        load_config()


def test_production_refuses_flask_debug(monkeypatch):
    _production(monkeypatch, SECRET_KEY=TEST_SECRET, FLASK_DEBUG="1")
    with pytest.raises(ConfigError, match="FLASK_DEBUG"):
        load_config()


def test_production_app_runs_without_debug_or_testing(monkeypatch, tmp_path):
    _production(monkeypatch, SECRET_KEY=TEST_SECRET, RATELIMIT_STORAGE_URI="memory://")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db", "MEDIA_ROOT": str(tmp_path)})
    assert app.debug is False and app.testing is False and app.config["PROPAGATE_EXCEPTIONS"] is not True
    assert app.config["LOG_JSON"] is True
