#!/usr/bin/env python3
"""Render the owner's QR page, the printable notice and the supervisors' dashboard in
headless Chromium, for docs/.

Usage, from the repository root:

    .venv/bin/python scripts/screenshots.py

It migrates a throw-away SQLite database, loads the demo, issues one notice, serves the
app on a free local port, and has Chromium take the pictures:

    docs/owner-page.png            the page /o/<code> on a 390×844 phone screen
    docs/owner-page-signed-in.png  the same after the owner typed the phone number and signed in
                                   (drives Chromium over the DevTools protocol with Node 20+;
                                   skipped when node is missing)
    docs/notice-print.png          the printable A4 notice (/api/v1/notices/{id}/print)
    docs/dashboard.png             the supervisors' dashboard after signing in as the demo captain

Needs Debian's Chromium and a Chinese font, or the characters show as boxes:

    apt-get install -y chromium fonts-noto-cjk nodejs
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--hide-scrollbars",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        sys.exit("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    return path


def signature_png() -> bytes:
    """A hand-drawn-looking signature, as a phone's signature pad would send."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 160), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(30, 110), (80, 40), (110, 120), (160, 50), (190, 115), (260, 60), (300, 100)], "black", 5)
    draw.line([(320, 70), (360, 120), (420, 45), (450, 95)], "black", 5)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def make_notice() -> tuple[str, str]:
    """Issue one demo notice and record a commitment; return the code and the printable page."""
    import sqlalchemy as sa

    from signage import create_app
    from signage.accounts.models import User
    from signage.core import audit
    from signage.core.db import db
    from signage.ledger.models import Shop
    from signage.paperwork import printing, service, signatures
    from signage.zones.models import Road, Zone

    app = create_app()
    with app.app_context():
        inspector = db.session.scalar(sa.select(User).where(User.username == "insp_gl"))
        audit.set_actor(inspector.id, inspector.role)
        zone = db.session.scalar(sa.select(Zone).where(Zone.code == "GL"))
        road = db.session.scalars(sa.select(Road).where(Road.zone_id == zone.id).order_by(Road.name)).first()
        shop = Shop(
            zone_id=zone.id,
            road_id=road.id,
            side="north",
            name="阿芳小吃店",
            address=f"{road.name}88号",
            lat=road.start_lat,
            lng=road.start_lng,
            owner_name="沈阿芳",
            owner_phone="13800000001",
            business_type="catering",
            registered_by_id=inspector.id,
        )
        db.session.add(shop)
        db.session.flush()
        notice = service.issue_notice(shop=shop, issued_by=inspector, delivery_method="in_person")
        signature = signatures.store_signature(data=signature_png(), uploaded_by=inspector)
        service.record_commitment(
            shop=shop,
            witnessed_by=inspector,
            signer_name="沈阿芳",
            signer_role="店主",
            signature_photo_id=signature.id,
        )
        db.session.commit()
        return notice.access_code, printing.notice_print_page(notice)


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            sys.exit("the app stopped before it answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    sys.exit("the app did not answer in time")


def screenshot(browser: str, url: str, out: Path, size: str, profile: Path) -> None:
    subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={size}",
            f"--screenshot={out}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"wrote {out.relative_to(ROOT)}")


def signed_in(browser: str, url: str, out: Path) -> None:
    node = shutil.which("node")
    if not node:
        print("node is missing: skipped the signed-in screenshot")
        return
    driver = ROOT / "scripts" / "owner_page_signed_in.mjs"
    subprocess.run(
        [node, "--experimental-websocket", str(driver), browser, url, "13800000001", str(out)],
        check=True,
        timeout=120,
    )
    print(f"wrote {out.relative_to(ROOT)}")


def dashboard(browser: str, url: str, out: Path) -> None:
    node = shutil.which("node")
    if not node:
        print("node is missing: skipped the dashboard screenshot")
        return
    driver = ROOT / "scripts" / "dashboard_signed_in.mjs"
    subprocess.run(
        [
            node,
            "--experimental-websocket",
            str(driver),
            browser,
            url,
            "captain",
            "demo-captain-2024",
            str(out),
        ],
        check=True,
        timeout=120,
    )
    print(f"wrote {out.relative_to(ROOT)}")


def main() -> None:
    browser = chromium()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="signage-shot-") as tmp:
        work = Path(tmp)
        os.environ.update(
            SIGNAGE_ENV="development",
            DATABASE_URL=f"sqlite:///{work / 'signage.db'}",
            MEDIA_ROOT=str(work / "media"),
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        )
        os.chdir(ROOT)
        subprocess.run([*FLASK, "db", "upgrade"], check=True, capture_output=True)
        subprocess.run([*FLASK, "demo", "load"], check=True, capture_output=True)
        sys.path.insert(0, str(ROOT))
        code, print_page = make_notice()
        printed = work / "notice-print.html"
        printed.write_text(print_page, encoding="utf-8")

        server = subprocess.Popen(
            [*FLASK, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", server)
            DOCS.mkdir(exist_ok=True)
            owner_url = f"http://127.0.0.1:{port}/o/{code}"
            screenshot(browser, owner_url, DOCS / "owner-page.png", "390,844", work / "profile")
            signed_in(browser, owner_url, DOCS / "owner-page-signed-in.png")
            screenshot(browser, printed.as_uri(), DOCS / "notice-print.png", "794,1123", work / "profile")
            dashboard(browser, f"http://127.0.0.1:{port}", DOCS / "dashboard.png")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
