"""The ledger export for supervisors' spreadsheets: one row per sign, streamed."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Response, current_app, send_file, stream_with_context
from flask.views import MethodView
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from signage.catalog import LABELS
from signage.core.access import roles
from signage.core.api import Blueprint
from signage.core.db import db
from signage.core.scope import known_zone_id
from signage.ledger.models import Shop, Sign
from signage.ledger.schemas import LedgerExportArgsSchema
from signage.zones.models import Road, Zone

blp = Blueprint("exports", __name__, url_prefix="/api/v1/exports", description="Spreadsheet exports")

HEADERS = [
    ("区域 Zone", 12),
    ("道路 Road", 12),
    ("侧 Side", 8),
    ("店名 Shop", 24),
    ("地址 Address", 24),
    ("招牌编号 Sign id", 38),
    ("类型 Kind", 12),
    ("内容 Text", 24),
    ("宽 Width (m)", 10),
    ("高 Height (m)", 10),
    ("离地 Above ground (m)", 12),
    ("发光 Lit", 8),
    ("状态 Status", 10),
    ("版本 Version", 8),
    ("最近变更 Last change", 20),
    ("照片 Photo", 60),
]
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH = 1000


def _query(args: dict) -> sa.Select:
    stmt = (
        sa.select(
            Zone.code.label("zone"),
            Road.name.label("road"),
            Shop.side,
            Shop.name.label("shop"),
            Shop.address,
            Sign.id,
            Sign.kind,
            Sign.text,
            Sign.width_m,
            Sign.height_m,
            Sign.height_above_ground_m,
            Sign.lit,
            Sign.status,
            Sign.current_version_no,
            Sign.updated_at,
            Sign.current_photo_id,
        )
        .join(Zone, Zone.id == Sign.zone_id)
        .outerjoin(Shop, Shop.id == Sign.shop_id)
        .outerjoin(Road, Road.id == Sign.road_id)
        .order_by(Zone.code, Road.name, Shop.name, Sign.created_at, Sign.id)
    )
    if "zone" in args:
        # Exports are for supervisors and admins, who read every zone: only the code is checked.
        stmt = stmt.where(Sign.zone_id == known_zone_id(args["zone"]))
    if "status" in args:
        stmt = stmt.where(Sign.status == args["status"])
    return stmt


def rows(stmt: sa.Select) -> Iterator[list]:
    """The export's rows, read from the database in batches (never all at once)."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    kinds = LABELS["SignKind"]
    sides = LABELS["RoadSide"]
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    for r in result:
        changed: datetime = r.updated_at
        yield [
            r.zone,
            r.road or "",
            sides[r.side]["zh"] if r.side in sides else "",
            r.shop or "",
            r.address or "",
            str(r.id),
            kinds[r.kind]["zh"] if r.kind in kinds else r.kind,
            r.text,
            r.width_m,
            r.height_m,
            r.height_above_ground_m,
            "是" if r.lit else "否",
            "在用" if r.status == "active" else "已拆除",
            r.current_version_no,
            changed.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            f"{base}/api/v1/photos/{r.current_photo_id}/content" if r.current_photo_id else "",
        ]


# Characters sent at a time (64k: up to three times the bytes in Chinese text): a write to the
# socket for each row was most of an export's time.
CSV_CHUNK = 64 * 1024


def _csv(stmt: sa.Select) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A BOM so Excel opens the UTF-8 Chinese text correctly.
    writer.writerow([h for h, _ in HEADERS])
    yield "\ufeff" + _drained(buffer)
    for row in rows(stmt):
        writer.writerow(row)
        if buffer.tell() >= CSV_CHUNK:
            yield _drained(buffer)
    if buffer.tell():
        yield _drained(buffer)


def _drained(buffer: io.StringIO) -> str:
    """What buffer holds, leaving it empty."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _xlsx(stmt: sa.Select):
    # Write-only mode spills rows to a temporary file, so memory stays flat however long the ledger.
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账 Ledger")
    for index, (_, width) in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for title, _ in HEADERS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows(stmt):
        sheet.append(row)
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - send_file closes it after streaming
    book.save(spool)
    spool.seek(0)
    return spool


@blp.route("/ledger")
class LedgerExport(MethodView):
    @roles("admin", "supervisor")
    @blp.arguments(LedgerExportArgsSchema, location="query")
    @blp.response(200, content_type=XLSX_MIME, description="The ledger, one row per sign (xlsx or csv)")
    def get(self, args):
        """Export the ledger as xlsx or csv, one row per sign."""
        stamp = datetime.now().strftime("%Y%m%d")
        # Built (and its filters checked) before anything streams: a 422 must not arrive as a
        # broken 200 body, nor leave a half-written workbook behind.
        stmt = _query(args)
        if args["format"] == "csv":
            return Response(
                stream_with_context(_csv(stmt)),
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="ledger-{stamp}.csv"'},
            )
        return send_file(
            _xlsx(stmt), mimetype=XLSX_MIME, as_attachment=True, download_name=f"ledger-{stamp}.xlsx"
        )
