"""A simulated phone for the scripted runs: a keep-alive HTTP client that times every request
by kind, keeps every write it sends (to send it again and to look for it in the database),
and the writes a field inspector makes: photos, shops, signs, hazards and their lifecycle.
"""

from __future__ import annotations

import http.client
import io
import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

DEMO_PASSWORD = "demo-inspect-2024"


def jpeg(rng: random.Random, size: tuple[int, int] = (160, 120)) -> bytes:
    """A small JPEG of random noise: distinct bytes for every call."""
    from PIL import Image

    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class Answer:
    """What came back: status (0 when no answer came), content type, JSON body, time taken."""

    status: int
    content_type: str = ""
    body: dict = field(default_factory=dict)
    ms: float = 0.0
    error: str = ""
    headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300

    @property
    def problem(self) -> bool:
        """An RFC 9457 problem+json answer."""
        return self.content_type.startswith("application/problem+json")


@dataclass
class Write:
    """A write a phone sent: enough to send it again and to look for it in the database."""

    kind: str
    table: str
    id: str
    method: str
    path: str
    body: dict | None = None
    photo: bytes | None = None
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    headers: dict = field(default_factory=dict)  # e.g. If-Match
    answers: list[int] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Answered 2xx at least once."""
        return any(200 <= s < 300 for s in self.answers)


def shop_write(road: str, rng: random.Random, prefix: str) -> Write:
    """Register a shop with a client-made id on a road, somewhere in the town."""
    shop_id = str(uuid.uuid4())
    body = {"id": shop_id, "name": f"{prefix}{shop_id[:8]}", "road_id": road, "confirm_distinct": True}
    body |= {"lat": 30.16 + rng.random() / 50, "lng": 120.44 + rng.random() / 50}
    return Write("shop", "shops", shop_id, "POST", "/api/v1/shops", body)


def sign_write(shop: Write, photo_id: str | None = None) -> Write:
    """A shop sign on that shop, with its photo when given."""
    body = {"id": str(uuid.uuid4()), "shop_id": shop.id, "kind": "shop_sign", "text": shop.body["name"]}
    body |= {"width_m": 3, "height_m": 1} | ({"photo_id": photo_id} if photo_id else {})
    return Write("sign", "signs", body["id"], "POST", "/api/v1/signs", body)


def hazard_write(sign: Write, photo_ids: list[str] = ()) -> Write:
    """A rusted-sign hazard on that sign."""
    body = {"id": str(uuid.uuid4()), "sign_id": sign.id, "category": "rusted", "severity": "low"}
    body["photo_ids"] = list(photo_ids)
    return Write("hazard", "hazards", body["id"], "POST", "/api/v1/hazards", body)


def action_write(hazard: Write, action: str, **body) -> Write:
    """A lifecycle action on that hazard; its client-made id is the transition's."""
    body["id"] = str(uuid.uuid4())
    return Write(
        action, "hazard_transitions", body["id"], "POST", f"/api/v1/hazards/{hazard.id}/{action}", body
    )


def photo_write(data: bytes) -> Write:
    """A photo upload with a client-made id."""
    return Write("photo", "photos", str(uuid.uuid4()), "POST", "/api/v1/photos", photo=data)


class Phone:
    """One phone: a keep-alive connection, a bearer token, and a log of what it sent."""

    def __init__(self, port: int, timeout: float = 30):
        self.port, self.timeout = port, timeout
        self.token = ""
        self.conn: http.client.HTTPConnection | None = None
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[int, int] = defaultdict(int)
        self.writes: list[Write] = []
        self.odd: list[str] = []  # answers that break the rules: 5xx other than 503/507, non-problem errors

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def request(self, kind: str, method: str, path: str, body=None, headers: dict | None = None) -> Answer:
        """Send one request; never raises for network trouble (status 0 then)."""
        hdrs = dict(headers or {})
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            conn = self._connection()
            conn.request(method, path, body=body, headers=hdrs)
            response = conn.getresponse()
            raw = response.read()
            answer = Answer(response.status, response.getheader("Content-Type", ""))
            answer.headers = {k.lower(): v for k, v in response.getheaders()}
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            if raw and "json" in answer.content_type:
                answer.body = json.loads(raw)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            answer = Answer(0, error=type(exc).__name__)
        answer.ms = (time.perf_counter() - started) * 1000
        self.latency[kind].append(answer.ms)
        self.statuses[answer.status] += 1
        bad_5xx = answer.status >= 500 and answer.status not in (503, 507)
        if bad_5xx or (answer.status >= 400 and not answer.problem):
            self.odd.append(f"{kind} {method} {path}: {answer.status} {answer.content_type}")
        return answer

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def login(self, username: str, password: str = DEMO_PASSWORD) -> Answer:
        """Sign in; keep the access token."""
        answer = self.request(
            "login", "POST", "/api/v1/auth/token", {"username": username, "password": password}
        )
        if answer.ok:
            self.token = answer.body["access_token"]
        return answer

    def send(self, write: Write) -> Answer:
        """Send a write (JSON, or a photo as multipart) with its Idempotency-Key; note the answer."""
        headers = {"Idempotency-Key": write.key, **write.headers}
        body = write.body
        if write.photo is not None:
            boundary = uuid.uuid4().hex
            body = _multipart(boundary, write.photo, write.id)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        answer = self.request(write.kind, write.method, write.path, body, headers)
        write.answers.append(answer.status)
        if len(write.answers) == 1:  # a retry, even by another phone, is the same write
            self.writes.append(write)
        return answer


def settle(phone: Phone, writes: list[Write], limit: float = 120) -> dict[str, int]:
    """Send the writes that got no 2xx again with the same key, as a phone does, until each settles.

    A 409 request-in-progress (the first attempt's claim is still "running", e.g. its worker was
    killed) is waited out as its Retry-After says; any other 4xx is final.
    """
    todo, replayed = [w for w in writes if not w.done], 0
    deadline = time.monotonic() + limit
    for write in todo:
        while time.monotonic() < deadline:
            answer = phone.send(write)
            in_progress = answer.body.get("type", "").endswith("request-in-progress")
            replayed += answer.headers.get("idempotent-replayed") == "true"
            if answer.ok or not (answer.status in (0, 503) or in_progress):
                break
            time.sleep(float(answer.headers.get("retry-after", 1)))
    landed = sum(w.done for w in todo)
    unsettled = [f"{w.kind} answered {w.answers}" for w in todo if not w.done]
    return {
        "retried": len(todo),
        "landed": landed,
        "of them answered as replays": replayed,
        "unsettled": unsettled,
    }


def outcomes(answers: Iterable[Answer]) -> dict[str, int]:
    """Answers counted by kind of outcome: 503 and 507 problem+json are the clean refusals."""
    out = dict.fromkeys(("requests", "2xx", "503 problem+json", "other 4xx", "5xx or non-problem"), 0)
    out["no answer"] = 0
    for a in answers:
        out["requests"] += 1
        if a.ok:
            kind = "2xx"
        elif a.status in (503, 507) and a.problem:
            kind = f"{a.status} problem+json"
        elif a.status == 0:
            kind = "no answer"
        elif 400 <= a.status < 500 and a.problem:
            kind = "other 4xx"
        else:
            kind = "5xx or non-problem"
        out[kind] = out.get(kind, 0) + 1
    return out


def _multipart(boundary: str, photo: bytes, photo_id: str) -> bytes:
    return b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\n{photo_id}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'.encode(),
            b"Content-Type: image/jpeg\r\n\r\n",
            photo,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
