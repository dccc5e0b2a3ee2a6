"""A phone on a bad network, against gunicorn on PostgreSQL: every third response is lost.

The client creates shops and signs with ids it makes itself, one request at a time and in
sync batches. For every third request it sends the request, then drops the connection
without reading the answer (the server has done the work), and sends it again. At the end
the database must hold exactly the records the client meant to create, no more, no fewer.

    .venv/bin/python scripts/flaky_network.py [--shops 60] [--port 5077]
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import stage  # noqa: E402
from bench.scenarios import shop_and_sign_operations  # noqa: E402

DB = "signage_flaky"


class FlakyPhone:
    """An HTTP client that loses every third response and retries until it gets one."""

    def __init__(self, port: int):
        self.port = port
        self.token = ""
        self.sent = 0
        self.dropped = 0
        self.replayed = 0
        self.in_progress = 0

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        payload = json.dumps(body).encode() if body is not None else None
        while True:
            self.sent += 1
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            headers = {"Content-Type": "application/json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            conn.request(method, path, body=payload, headers=headers)
            if self.sent % 3 == 0:
                # The answer is lost on the way back; the phone cannot tell whether it landed.
                conn.sock.shutdown(2)
                conn.close()
                self.dropped += 1
                time.sleep(0.05)
                continue
            response = conn.getresponse()
            data = response.read()
            conn.close()
            body = json.loads(data) if data else {}
            if response.status == 409 and body.get("type", "").endswith("request-in-progress"):
                # The lost attempt is still being worked on: wait as told, then ask again.
                self.in_progress += 1
                time.sleep(float(response.getheader("Retry-After", "1")))
                continue
            if response.getheader("Idempotent-Replayed") == "true":
                self.replayed += 1
            return response.status, body


def wait_ready(port: int) -> None:
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not become ready")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=60)
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()

    url = stage.fresh_database(DB)
    env = stage.app_env(url, "/tmp/signage-flaky-media", RATELIMIT_STORAGE_URI="memory://")
    stage.prepare(env)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{args.port}", "wsgi:app"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{args.port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(args.port)
        phone = FlakyPhone(args.port)
        status, tokens = phone.call(
            "POST", "/api/v1/auth/token", {"username": "insp_gl", "password": "demo-inspect-2024"}
        )
        assert status == 200, tokens
        phone.token = tokens["access_token"]
        _, roads = phone.call("GET", "/api/v1/roads?zone=GL")
        road = roads["items"][0]["id"]

        shops, signs = [], []
        for n in range(args.shops):
            shop = {
                "id": str(uuid.uuid4()),
                "name": f"弱网测试店{n}",
                "road_id": road,
                "lat": 30.1600 + n * 0.0004,
                "lng": 120.4400,
                "confirm_distinct": True,
            }
            status, body = phone.call("POST", "/api/v1/shops", shop)
            assert status in (200, 201), body
            shops.append(shop["id"])
            sign = {
                "id": str(uuid.uuid4()),
                "shop_id": shop["id"],
                "kind": "shop_sign",
                "text": shop["name"],
                "width_m": 3,
                "height_m": 1,
            }
            status, body = phone.call("POST", "/api/v1/signs", sign)
            assert status in (200, 201), body
            signs.append(sign["id"])
        # The rest goes up as offline batches, whose answers get lost too.
        for b in range(3):
            ops = shop_and_sign_operations(
                20,
                lambda n, b=b: (road, 30.2000 + (b * 20 + n) * 0.0004, 120.4500),
                lambda n, b=b: f"离线批次{b}-{n}",
                kind="light_box",
                width_m=2,
                lit=True,
            )
            shops += [op["body"]["id"] for op in ops if op["path"] == "/api/v1/shops"]
            signs += [op["body"]["id"] for op in ops if op["path"] == "/api/v1/signs"]
            status, body = phone.call("POST", "/api/v1/sync", {"operations": ops})
            assert status == 200 and all(r["result"] in ("created", "replayed") for r in body["results"]), (
                body
            )

        with psycopg.connect(url) as conn:
            stored_shops = {
                str(r[0])
                for r in conn.execute("SELECT id FROM shops WHERE name LIKE '弱网%' OR name LIKE '离线%'")
            }
            stored_signs = {
                str(r[0])
                for r in conn.execute(
                    "SELECT s.id FROM signs s JOIN shops p ON p.id = s.shop_id WHERE p.name LIKE '弱网%' OR p.name LIKE '离线%'"
                )
            }
        ok = stored_shops == set(shops) and stored_signs == set(signs)
        lines = [
            f"flaky-network run {time.strftime('%Y-%m-%d %H:%M:%S %Z')}: gunicorn (2 workers) on PostgreSQL",
            f"requests sent {phone.sent}, responses dropped {phone.dropped}, replays answered {phone.replayed}, "
            f"'still running' answers waited out {phone.in_progress}",
            f"meant to create {len(shops)} shops and {len(signs)} signs; "
            f"stored {len(stored_shops)} shops and {len(stored_signs)} signs",
            "result: " + ("exactly the intended records" if ok else "MISMATCH"),
        ]
        print("\n".join(lines))
        (ROOT / "docs" / "flaky-network.txt").write_text("\n".join(lines) + "\n")
        return 0 if ok else 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        stage.drop_database(DB)


if __name__ == "__main__":
    sys.exit(main())
