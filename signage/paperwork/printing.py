"""Server-rendered pages of the paperwork: the printable notice and the owner's mobile page.

Everything a page needs is inline (CSS, the QR code as SVG, the owner page's script),
so printing or opening it never reaches another server.
"""

from __future__ import annotations

import qrcode
from flask import current_app
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from signage.catalog import DeliveryMethod, label
from signage.paperwork import documents
from signage.paperwork.models import Notice
from signage.paperwork.service import display_code, owner_url
from signage.paperwork.texts import NOTICE_TITLE_EN

_pages = Environment(
    loader=PackageLoader("signage.paperwork", "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


def qr_svg(data: str, *, size_mm: int = 28) -> Markup:
    """A QR code for data as an inline SVG (one path; no XML namespace, no external reference)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    n = len(matrix)
    # Only numbers and path commands made here go into the markup, never caller text.
    return Markup(  # noqa: S704
        f'<svg class="qr" viewBox="0 0 {n} {n}" width="{size_mm}mm" height="{size_mm}mm" role="img" '
        f'aria-label="二维码" shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )


def notice_print_page(notice: Notice) -> str:
    """The A4 printable notice: shop details, the exact text, its number, hash and QR code."""
    link = owner_url(notice)
    shop = notice.shop
    return _pages.get_template("notice_print.html").render(
        notice=notice,
        shop=shop,
        title_en=NOTICE_TITLE_EN,
        team_name=current_app.config["TEAM_NAME"],
        issued_date=documents.chinese_date(notice.issued_at),
        template_version=notice.template.version_no,
        delivery=label(DeliveryMethod(notice.delivery_method)) if notice.delivery_method else None,
        qr=qr_svg(link),
        owner_link=link,
        access_code=display_code(notice.access_code),
    )


def owner_page(notice: Notice | None, *, nonce: str, reason: str | None = None) -> str:
    """The owner's mobile page for a notice's code, or why it cannot be shown (unknown, too_many)."""
    cfg = current_app.config
    labels = {
        "delivery": {m.value: label(m) for m in DeliveryMethod},
        "status": {"in_force": "有效", "expired": "已过期", "superseded": "已被新承诺书替代"},
    }
    return _pages.get_template("owner_page.html").render(
        notice=notice,
        shop=notice.shop if notice else None,
        issued_date=documents.chinese_date(notice.issued_at) if notice else None,
        team_name=cfg["TEAM_NAME"],
        team_phone=cfg["TEAM_PHONE"],
        timezone=cfg["TIMEZONE"],
        labels=labels,
        reason=reason,
        nonce=nonce,
    )
