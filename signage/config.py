"""Configuration read from the environment, with safe defaults for local use."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-secret-not-for-production-use-0000"  # noqa: S105 - development only


class ConfigError(RuntimeError):
    """The environment describes a configuration the app refuses to start with."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _area(raw: str) -> tuple[float, float, float, float]:
    try:
        south, west, north, east = (float(x) for x in raw.split(","))
    except ValueError as exc:
        raise ConfigError(f"SERVICE_AREA must be 'south,west,north,east' in degrees, got {raw!r}") from exc
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise ConfigError(f"SERVICE_AREA {raw!r} is not a box south<north, west<east")
    return south, west, north, east


def load_config() -> dict:
    """Build the Flask config mapping from environment variables."""
    env = os.environ.get("SIGNAGE_ENV", "production").lower()
    if env not in {"production", "development", "testing"}:
        raise ConfigError(f"SIGNAGE_ENV must be production, development or testing, got {env!r}")
    instance = ROOT / "instance"
    secret = os.environ.get("SECRET_KEY", "")
    if not secret:
        if env == "production":
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
                "or set SIGNAGE_ENV=development for local use."
            )
        secret = DEV_SECRET
    elif len(secret) < 32 and env == "production":
        raise ConfigError("SECRET_KEY must be at least 32 characters long in production")
    elif secret == DEV_SECRET and env == "production":
        raise ConfigError("SECRET_KEY is the published development key; set your own in production")
    # Flask reads FLASK_DEBUG on its own: the debugger runs code sent to it, so never in production.
    if env == "production" and _bool(os.environ.get("FLASK_DEBUG")):
        raise ConfigError("FLASK_DEBUG is on: production never runs the debugger; unset it")

    timezone = os.environ.get("TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"TIMEZONE {timezone!r} is not a known IANA time zone") from exc

    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'signage.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    return {
        "SIGNAGE_ENV": env,
        **({"DEBUG": False} if env == "production" else {}),
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Testing every pooled connection before use costs a round trip per request (0.15 ms of
        # a 1.6 ms read, profiled). By default only a connection that sat idle in the pool longer
        # than DB_PING_IDLE_SECONDS is tested: one that was used a moment ago is alive, and a
        # database restart under traffic fails the statements in flight whatever we test.
        # DB_POOL_PRE_PING=1 tests every checkout; recycling bounds a connection's age.
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": _bool(os.environ.get("DB_POOL_PRE_PING"), default=False),
            "pool_recycle": _int("DB_POOL_RECYCLE", 1800),
        },
        "DB_PING_IDLE_SECONDS": _int("DB_PING_IDLE_SECONDS", 5),
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT") or str(instance / "media"),
        "TIMEZONE": timezone,
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024),
        # Photos: where they are stored ("local": under MEDIA_ROOT) and what an upload may be.
        # PHOTO_MAX_BYTES stays below MAX_CONTENT_LENGTH, so an oversized photo gets our 413.
        "PHOTO_STORAGE": os.environ.get("PHOTO_STORAGE") or "local",
        "PHOTO_MAX_BYTES": _int("PHOTO_MAX_BYTES", 15 * 1024 * 1024),
        "PHOTO_MAX_PIXELS": _int("PHOTO_MAX_PIXELS", 40_000_000),
        "ACCESS_TOKEN_TTL": _int("ACCESS_TOKEN_TTL", 15 * 60),
        # How long a worker may remember a session's sign-in check (signage/accounts/signins.py);
        # it forgets sooner, at once, when the session or account changes. 0: check every request.
        "SIGNIN_CACHE_SECONDS": _int("SIGNIN_CACHE_SECONDS", 60),
        "REFRESH_TOKEN_TTL": _int("REFRESH_TOKEN_TTL", 30 * 24 * 3600),
        # Failed sign-ins allowed per account and per address within the window.
        "SIGNIN_MAX_FAILURES": _int("SIGNIN_MAX_FAILURES", 5),
        "SIGNIN_WINDOW": _int("SIGNIN_WINDOW", 15 * 60),
        # A shared store so the limits hold across gunicorn workers; memory:// is per process.
        "RATELIMIT_STORAGE_URI": os.environ.get(
            "RATELIMIT_STORAGE_URI", "memory://" if env != "production" else "redis://127.0.0.1:6379/0"
        ),
        "IDEMPOTENCY_TTL": _int("IDEMPOTENCY_TTL", 24 * 3600),
        # Every this many claims (by record id), a claim also deletes up to 1,000 expired ones:
        # the table stays bounded without a scheduled job.
        "IDEMPOTENCY_PURGE_EVERY": _int("IDEMPOTENCY_PURGE_EVERY", 64),
        # A report over all time folds the hazard tallies (signage/reports/tallies.py) into one
        # row per zone and category once they hold this many rows more than twice that.
        "REPORT_TALLY_SLACK": _int("REPORT_TALLY_SLACK", 256),
        # How far ahead of the server's clock a phone's recorded_at may be (clock skew).
        "CLOCK_SKEW_SECONDS": _int("CLOCK_SKEW_SECONDS", 300),
        "COMPRESS_MIMETYPES": ["application/json", "application/problem+json", "text/csv", "text/html"],
        "COMPRESS_MIN_SIZE": 1024,
        "PAGE_LIMIT_DEFAULT": 50,
        "PAGE_LIMIT_MAX": _int("PAGE_LIMIT_MAX", 200),
        "CORS_ORIGINS": [o for o in os.environ.get("CORS_ORIGINS", "").split(",") if o],
        # The box (south, west, north, east; WGS-84) locations must fall in: Xiaoshan and around.
        "SERVICE_AREA": _area(os.environ.get("SERVICE_AREA", "29.90,120.10,30.45,120.80")),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Printed on notices: the team's name and phone, and the prefix of notice numbers.
        "TEAM_NAME": os.environ.get("TEAM_NAME", "瓜沥镇综合行政执法队"),
        # The default is not a real number: deployments must set the team's phone.
        "TEAM_PHONE": os.environ.get("TEAM_PHONE", "0571-00000000"),
        "NOTICE_NUMBER_PREFIX": os.environ.get("NOTICE_NUMBER_PREFIX", "瓜沥执法告"),
        "TRUST_PROXY": _bool(os.environ.get("TRUST_PROXY")),
        "LOG_JSON": _bool(os.environ.get("LOG_JSON"), default=env == "production"),
    }
