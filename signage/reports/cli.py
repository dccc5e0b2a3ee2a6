"""`flask --app wsgi report summary`: the campaign figures in the terminal."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from signage.catalog import LABELS
from signage.reports.campaign import campaign

report_cli = AppGroup("report", help="Campaign reports.")


def _pct(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


@report_cli.command("summary")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First local day (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last local day, included.")
def summary(start, end) -> None:
    """Print the campaign figures as a supervisor reads them."""
    start_day: date | None = start.date() if start else None
    end_day: date | None = end.date() if end else None
    if start_day and end_day and start_day > end_day:
        raise click.BadParameter("--to is before --from")
    report = campaign(start_day, end_day)
    ledger, paper, patrols = report["ledger"], report["paperwork"], report["patrols"]
    meta = report["meta"]
    period = f"{meta['from'] or '开始 start'} – {meta['to'] or '至今 today'} ({meta['time_zone']})"
    out = [
        "户外广告和店招店牌整治 · 工作概况 / Campaign summary",
        f"期间 Period: {period}",
        "",
        f"片区 Areas                         {ledger['zones']}",
        f"台账商铺 Shops on the ledger        {ledger['shops_on_ledger']}",
        f"登记招牌 Signs registered           {ledger['signs_registered']}",
        f"发放告知书 Notices issued           {paper['notices_issued']}"
        f"  (送达 delivered {paper['notices_delivered']}, 确认 acknowledged {paper['notices_acknowledged']})",
        f"签订承诺书 Commitments signed       {paper['commitments_signed']}"
        f"  (有效 in force {paper['commitments_in_force']})",
        f"巡查 Patrols                        白班 day {patrols['day']}, 夜班 night {patrols['night']}"
        f"  (走访商铺 shops visited {patrols['shops_visited']})",
        "",
        "隐患整改 Hazards",
    ]
    shifts = {g["group"]["shift"]: g for g in report["hazards"]["by_shift"]}
    for shift in ("day", "night"):
        g = shifts.get(shift)
        if not g:
            out.append(f"  {LABELS['Shift'][shift]['zh']} {shift:<6} 无 none")
            continue
        out.append(
            f"  {LABELS['Shift'][shift]['zh']} {shift:<6} 发现 found {g['found']:>4}, 已整改 rectified "
            f"{g['rectified']:>4}, 整改率 rate {_pct(g['rectification_rate'])}, 逾期 overdue {g['overdue']}"
        )
        for entry in report["hazards"]["by_shift_and_category"]:
            if entry["group"]["shift"] != shift:
                continue
            category = entry["group"]["category"]
            out.append(
                f"      {LABELS['HazardCategory'][category]['zh']:<6} {category:<18} "
                f"{entry['found']:>4} / {entry['rectified']:>4}  {_pct(entry['rectification_rate'])}"
            )
    total = report["hazards"]["total"]
    if total:
        out.append(
            f"  合计 total    发现 found {total['found']:>4}, 已整改 rectified {total['rectified']:>4}, "
            f"整改率 rate {_pct(total['rectification_rate'])}, "
            f"按期整改率 on time {_pct(total['on_time_rate'])}"
        )
    click.echo("\n".join(out))
