"""Sign-in checks a worker remembers, and forgets the moment the database says they changed.

Every signed-in request checks that its session is still open and its account still active
(signage/accounts/tokens.py). On a read-only view that check was a statement of its own, about
a third of a signed-in GET of one shop (profiled). A worker now keeps the answer for a session it
has checked (`Principal`, keyed by session and user) and drops it when:

- this process commits a change to an account, its zones or a session: at the commit, before the
  request that made it answers (SQLAlchemy's after_commit);
- anything else does, another worker or any SQL client: triggers on users, user_zones and
  auth_sessions (migration 0010) send `NOTIFY signage_signins` with the user's id, and a thread in
  each worker, LISTENing on a connection of its own, drops that user's answers as the notice
  arrives (PostgreSQL delivers it at the commit; the thread takes it within milliseconds);
- the listening connection is lost: everything is dropped, and nothing is remembered until it
  listens again (a notice sent meanwhile would be missed);
- it is older than SIGNIN_CACHE_SECONDS (default 60; 0 turns remembering off), a bound should a
  notice ever go astray.

An answer read while a notice came in is not kept: it may predate the change (`epoch`). SQLite
has no NOTIFY, and workers on one file could not tell each other: there nothing is remembered.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from signage.core.access import Principal

CHANNEL = "signage_signins"
EVERYONE = "*"  # the payload of a TRUNCATE: forget every answer
_TABLES = frozenset({"users", "auth_sessions"})  # zones: the user's record is dirty when they change
_MAX_ENTRIES = 20_000
_TRIGGERS_SQL = (
    "SELECT count(DISTINCT tgname) = 3 FROM pg_trigger WHERE tgname IN"
    " ('signage_signins_users', 'signage_signins_user_zones', 'signage_signins_auth_sessions')"
)
# The listener pings after this long without a notice; remembered answers are not used once
# it has not proved alive for this long and the slack (a stalled connection hears nothing).
_QUIET_SECONDS = 10.0
_PING_SLACK_SECONDS = 5.0
# The listening connection: named for pg_stat_activity, in autocommit, and given up by the
# kernel within seconds if the server stops answering (rather than after minutes of retries).
_LISTENER_OPTIONS = {
    "application_name": "signage-signins",
    "autocommit": True,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
log = logging.getLogger("signage.signins")

Key = tuple[uuid.UUID, uuid.UUID]  # (session id, user id)
Answer = tuple[Principal, datetime]  # who signed in, and when their session ends


class SignIns:
    """One process's remembered sign-in checks for one database, and the thread keeping them true."""

    def __init__(self, engine: sa.Engine, seconds: float):
        self.seconds = seconds
        self.pid = os.getpid()  # a copy in a forked child knows nothing: see `for_engine`
        self.epoch = 0  # moves on every forgetting: an answer read across one is not kept
        self.listening = False
        self.backend_pid: int | None = None  # the listening connection's server process
        self._heard_at = 0.0  # when the listening connection last proved alive (monotonic)
        self._entries: dict[Key, tuple[Answer, float]] = {}
        self._lock = threading.Lock()
        self._engine = engine
        self._thread: threading.Thread | None = None

    def get(self, key: Key) -> Answer | None:
        """The remembered answer for (session, user), if it is still good.

        Nothing is good while the listening connection has not proved alive lately: a
        connection that stalls without failing (a half-open TCP link) would hear nothing.
        """
        found = self._entries.get(key)
        if found is None or not self.listening:
            return None
        answer, stored = found
        now = time.monotonic()
        if now - stored > self.seconds or now - self._heard_at > _QUIET_SECONDS + _PING_SLACK_SECONDS:
            return None  # left for `put` to replace: only the lock's holders change the entries
        return answer

    def put(self, key: Key, answer: Answer, epoch: int) -> None:
        """Remember an answer read after `epoch` was taken, unless something changed since."""
        with self._lock:
            if not self.listening or epoch != self.epoch:
                return
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (answer, time.monotonic())

    def forget(self, user_ids) -> None:
        """Drop the answers about these users (EVERYONE among them: every answer)."""
        user_ids = set(user_ids)
        with self._lock:
            self.epoch += 1
            if EVERYONE in user_ids:
                self._entries.clear()
                return
            for key in [k for k in self._entries if k[1] in user_ids]:
                del self._entries[key]

    def _restart(self, *, listening: bool) -> None:
        """Forget everything; remember from now on only if listening."""
        with self._lock:
            self.listening = listening
            self.epoch += 1
            self._entries.clear()
            self._heard_at = time.monotonic()

    def start(self) -> None:
        """Start the listening thread (once)."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._listen_forever, name="signins-listener", daemon=True)
        self._thread.start()

    def _listen_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                self._listen()
            except Exception as exc:  # noqa: BLE001 - any loss: forget all, listen again
                if self.listening:
                    delay = 0.5
                    log.warning("sign-in notices lost (%s): every request is checked until they return", exc)
                self._restart(listening=False)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _listen(self) -> None:
        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        cparams = {**cparams, **_LISTENER_OPTIONS}
        conn = self._engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
        with conn:
            # LISTEN hears any channel, sent to or not: without migration 0010's triggers (code
            # deployed before `flask db upgrade`) nothing would tell the workers of a sign-out.
            if not conn.execute(_TRIGGERS_SQL).fetchone()[0]:
                raise RuntimeError("the sign-in notice triggers are missing; run the migrations")
            conn.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = conn.info.backend_pid
            self._restart(listening=True)
            while True:
                for notice in conn.notifies(timeout=_QUIET_SECONDS):
                    self.forget([_user_of(notice.payload)])
                    self._heard_at = time.monotonic()
                conn.execute("SELECT 1")  # quiet for a while: is the connection still there?
                self._heard_at = time.monotonic()


def _user_of(payload: str):
    """The user id a notice names, or EVERYONE (a TRUNCATE, or anything unexpected)."""
    try:
        return uuid.UUID(payload)
    except ValueError:
        return EVERYONE


_registry: dict[tuple[int, str], SignIns] = {}
_registry_lock = threading.Lock()


def for_engine(engine: sa.Engine, seconds: float) -> SignIns | None:
    """This process's remembered checks for the engine's database; None where none are kept.

    Per process: a worker forked from a process that had one starts its own (and its thread).
    """
    if seconds <= 0 or engine.dialect.name != "postgresql":
        return None
    key = (os.getpid(), engine.url.render_as_string(hide_password=False))
    found = _registry.get(key)
    if found is None:
        with _registry_lock:
            found = _registry.get(key)
            if found is None:
                found = _registry[key] = SignIns(engine, seconds)
                found.start()
    return found


def _changed_users(session, _flush_context) -> None:
    """after_flush: note the users whose accounts, zones or sessions this transaction changed."""
    changed = session.info.setdefault("signins_changed", set())
    for obj in (*session.dirty, *session.deleted):
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table not in _TABLES:
            continue
        changed.add(obj.id if table == "users" else obj.user_id)


def _committed(session) -> None:
    """after_commit: forget those users in this process now (other workers hear the notice).

    Users noted by work rolled back since are forgotten too: a needless re-read, never a stale one.
    """
    changed = session.info.pop("signins_changed", None)
    if changed:
        for signins in list(_registry.values()):
            if signins.pid == os.getpid():
                signins.forget(changed)


def watch_sessions() -> None:
    """Forget, at each commit of this process, the users the commit changed (once per process)."""
    if not sa.event.contains(Session, "after_commit", _committed):
        sa.event.listen(Session, "after_flush", _changed_users)
        sa.event.listen(Session, "after_commit", _committed)
