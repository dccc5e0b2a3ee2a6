"""Notice numbers: one gap-free sequence per calendar year (team's time zone).

Format: ``{prefix}〔{year}〕第{seq:04d}号``, e.g. 瓜沥执法告〔2026〕第0001号 (the prefix is
NOTICE_NUMBER_PREFIX). The year's counter row is bumped in the issuing transaction:
an UPDATE takes the row lock on PostgreSQL, so concurrent issuers queue on it and
each gets the next number; SQLite lets one writer in at a time. If the transaction
rolls back, the bump rolls back with it, so no number is ever skipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from signage.core.db import db, insert_or_skip
from signage.paperwork.models import NoticeCounter


def format_number(year: int, seq: int) -> str:
    """The printed number of the seq-th notice of year."""
    return f"{current_app.config['NOTICE_NUMBER_PREFIX']}〔{year}〕第{seq:04d}号"


def next_seq(year: int) -> int:
    """Take the next number of year inside the current transaction."""
    # Make sure the year's row exists without racing another first issuer of the year.
    counters = NoticeCounter.__table__
    db.session.execute(insert_or_skip(counters, ["year"]).values(year=year, last_seq=0))
    return db.session.execute(
        sa.update(counters)
        .where(counters.c.year == year)
        .values(last_seq=counters.c.last_seq + 1)
        .returning(counters.c.last_seq)
    ).scalar_one()
