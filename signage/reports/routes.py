"""Rectification and campaign reports, as JSON, CSV or a workbook."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from signage.core.access import roles
from signage.core.api import Blueprint
from signage.reports import spreadsheets
from signage.reports.campaign import campaign
from signage.reports.rectification import DEFINITIONS, Filters, rectification
from signage.reports.schemas import (
    CampaignReportSchema,
    PeriodArgsSchema,
    RectificationArgsSchema,
    RectificationReportSchema,
)

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="Rectification and campaign reports. "
    + " ".join(f"`{k}`: {v}." for k, v in DEFINITIONS.items()),
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The same 200 in the other formats: one status holds all three content types (alt_response
# with the same status would replace the JSON one, or be dropped).
DOWNLOADS = {
    "responses": {
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string", "description": "format=csv"}},
                XLSX: {"schema": {"type": "string", "format": "binary", "description": "format=xlsx"}},
            }
        }
    }
}


def _download(kind: str, fmt: str, sections) -> Response:
    name = f"{kind}-report.{fmt}"
    if fmt == "csv":
        body, mimetype = spreadsheets.to_csv(sections), "text/csv"
    else:
        body, mimetype = spreadsheets.to_xlsx(sections), XLSX
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@blp.route("/rectification")
class RectificationReport(MethodView):
    @roles("admin", "supervisor")
    @blp.arguments(RectificationArgsSchema, location="query")
    @blp.response(200, RectificationReportSchema)
    @blp.doc(**DOWNLOADS)
    def get(self, args):
        """Rectification figures for a period, filtered and grouped by up to two dimensions."""
        filters = Filters(
            start=args.get("from_"),
            end=args.get("to"),
            zone=args.get("zone"),
            road=args.get("road"),
            category=args.get("category"),
            shift=args.get("shift"),
            inspector=args.get("inspector"),
            severity=args.get("severity"),
        )
        group_by = tuple(args["group_by"])
        report = rectification(filters, group_by)
        if args["format"] == "json":
            return report
        header, rows = spreadsheets.group_table(report["groups"], list(group_by))
        title = " × ".join(spreadsheets.GROUP_TITLES[g].split()[0] for g in group_by) or "合计 Total"
        sections = [(title, header, rows)]
        if group_by:
            total = rectification(filters, ())
            sections.append(("合计 Total", *spreadsheets.group_table(total["groups"], [])))
        return _download("rectification", args["format"], sections)


@blp.route("/campaign")
class CampaignReport(MethodView):
    @roles("admin", "supervisor")
    @blp.arguments(PeriodArgsSchema, location="query")
    @blp.response(200, CampaignReportSchema)
    @blp.doc(**DOWNLOADS)
    def get(self, args):
        """The campaign at a glance for a period: ledger, paperwork, patrols, hazards, coverage."""
        report = campaign(args.get("from_"), args.get("to"))
        if args["format"] == "json":
            return report
        return _download("campaign", args["format"], campaign_sections(report))


def campaign_sections(report: dict) -> list[tuple[str, list[str], list[list]]]:
    """The campaign report as titled tables (summary, hazards by shift and category, coverage)."""
    summary = [
        ["片区 Zones", report["ledger"]["zones"]],
        ["登记商铺 Shops registered", report["ledger"]["shops_registered"]],
        ["台账商铺 Shops on the ledger", report["ledger"]["shops_on_ledger"]],
        ["登记招牌 Signs registered", report["ledger"]["signs_registered"]],
        ["发放告知书 Notices issued", report["paperwork"]["notices_issued"]],
        ["已送达 Notices delivered", report["paperwork"]["notices_delivered"]],
        ["已确认 Notices acknowledged", report["paperwork"]["notices_acknowledged"]],
        ["签订承诺书 Commitments signed", report["paperwork"]["commitments_signed"]],
        ["有效承诺书 Commitments in force", report["paperwork"]["commitments_in_force"]],
        ["白班巡查 Day patrols", report["patrols"]["day"]],
        ["夜班巡查 Night patrols", report["patrols"]["night"]],
        ["走访商铺 Shops visited", report["patrols"]["shops_visited"]],
    ]
    total = report["hazards"]["total"]
    if total:
        summary += [
            ["发现隐患 Hazards found", total["found"]],
            ["已整改 Rectified", total["rectified"]],
            ["整改率 Rectification rate", total["rectification_rate"]],
        ]
    coverage_header = [
        "片区 Zone",
        "商铺 Shops",
        "有告知书 With notice",
        "告知书占比 Notice share",
        "有承诺书 With commitment",
        "承诺书占比 Commitment share",
        "夜查走访 Visited at night",
        "夜查占比 Night share",
    ]

    def coverage_rows(entries, with_road):
        return [
            ([e["zone"], e["road"]] if with_road else [e["zone"]])
            + [
                e["shops"],
                e["with_notice"],
                e["with_notice_share"],
                e["with_commitment"],
                e["with_commitment_share"],
                e["visited_at_night"],
                e["visited_at_night_share"],
            ]
            for e in entries
        ]

    return [
        ("概况 Summary", ["指标 Figure", "数值 Value"], summary),
        (
            "隐患 Hazards",
            *spreadsheets.group_table(report["hazards"]["by_shift_and_category"], ["shift", "category"]),
        ),
        ("片区覆盖 Zones", coverage_header, coverage_rows(report["coverage"]["zones"], False)),
        (
            "道路覆盖 Roads",
            [coverage_header[0], "道路 Road", *coverage_header[1:]],
            coverage_rows(report["coverage"]["roads"], True),
        ),
    ]
