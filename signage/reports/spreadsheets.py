"""Reports as CSV and as readable workbooks (Chinese headers, widths, percentages)."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from signage.catalog import LABELS

GROUP_TITLES = {
    "zone": "片区 Zone",
    "road": "道路 Road",
    "category": "类别 Category",
    "shift": "班次 Shift",
    "inspector": "队员 Inspector",
    "severity": "等级 Severity",
    "week": "周 Week of",
    "day": "日期 Day",
}
FIGURES = [
    ("found", "发现 Found", "count"),
    ("rectified", "已整改 Rectified", "count"),
    ("open", "未整改 Open", "count"),
    ("overdue", "逾期 Overdue", "count"),
    ("due", "应完成 Due", "count"),
    ("rectified_on_time", "按期整改 On time", "count"),
    ("rework", "返工 Rework", "count"),
    ("rectification_rate", "整改率 Rectification rate", "rate"),
    ("on_time_rate", "按期整改率 On-time rate", "rate"),
    ("median_hours", "整改用时中位数(小时) Median hours", "hours"),
    ("p90_hours", "整改用时P90(小时) P90 hours", "hours"),
]
_ENUM_OF = {"category": "HazardCategory", "shift": "Shift", "severity": "Severity"}


def _label(group: str, value) -> str:
    labels = LABELS.get(_ENUM_OF.get(group, ""), {})
    return f"{labels[value]['zh']} {value}" if value in labels else ("" if value is None else str(value))


def group_table(groups: list[dict], group_by: list[str]) -> tuple[list[str], list[list]]:
    """Header and rows of a grouped figure table (rates as percentages, e.g. 91.7)."""
    header = [GROUP_TITLES[g] for g in group_by] + [title for _, title, _ in FIGURES]
    rows = [
        [_label(g, entry["group"].get(g)) for g in group_by] + [entry[key] for key, _, _ in FIGURES]
        for entry in groups
    ]
    return header, rows


def to_csv(sections: list[tuple[str, list[str], list[list]]]) -> str:
    """Sections as CSV (one blank line between them), with a BOM so Excel reads the Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for index, (title, header, rows) in enumerate(sections):
        if index:
            writer.writerow([])
        if len(sections) > 1:
            writer.writerow([title])
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return "\ufeff" + buffer.getvalue()


def to_xlsx(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """One sheet per section: bold headers, sized columns, rates formatted as percentages."""
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        rate_columns = {i for i, h in enumerate(header) if "率" in h or "share" in h.lower() or "占比" in h}
        for row in rows:
            sheet.append(
                [
                    (v / 100 if isinstance(v, (int, float)) else v) if i in rate_columns else v
                    for i, v in enumerate(row)
                ]
            )
        for i, name in enumerate(header, start=1):
            letter = get_column_letter(i)
            sheet.column_dimensions[letter].width = max(10, min(40, len(name) + 4))
            if i - 1 in rate_columns:
                for cell in sheet[letter][1:]:
                    cell.number_format = "0.0%"
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
