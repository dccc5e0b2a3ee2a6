"""Document templates: the stored versions, checking an admin's edit, rendering, hashing.

Templates are Jinja2 text edited by admins, so they render in a sandbox with only the
placeholders of their kind; a document keeps its rendered text and the template id, so
a later edit (a new version) never changes what a shop already received.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
from flask import current_app
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from signage.core.db import db
from signage.core.errors import Problem, field_error
from signage.paperwork import texts
from signage.paperwork.models import DocumentTemplate

# The placeholders each kind of template may use, with the sample values an edit is tried with.
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "notice": {
        "notice_number": "瓜沥执法告〔2026〕第0001号",
        "shop_name": "示例小吃店",
        "shop_address": "航坞路1号",
        "team_name": texts.TEAM_NAME,
        "team_phone": texts.DEMO_TEAM_PHONE,
        "issued_date": "2026年4月10日",
    },
    "commitment": {
        "shop_name": "示例小吃店",
        "signer_name": "张三",
        "signer_role": "店主",
        "signed_date": "2026年4月10日",
        "valid_until": "2027年4月10日",
        "team_name": texts.TEAM_NAME,
    },
}
DEFAULTS = {
    "notice": (texts.NOTICE_TITLE, texts.NOTICE_BODY_V1),
    "commitment": (texts.COMMITMENT_TITLE, texts.COMMITMENT_BODY_V1),
}

_env = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True, auto_reload=False
)


def sha256_text(text: str) -> str:
    """The SHA-256 of text as served (UTF-8), in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chinese_date(value: date | datetime) -> str:
    """2026年4月10日, in the team's time zone for a datetime."""
    if isinstance(value, datetime):
        value = local_date(value)
    return f"{value.year}年{value.month}月{value.day}日"


def local_date(moment: datetime) -> date:
    """The calendar day of an aware moment in the team's time zone."""
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def check_body(kind: str, body: str) -> None:
    """Refuse (422, naming `body`) a template that does not parse, uses unknown placeholders or fails."""
    allowed = PLACEHOLDERS[kind]
    try:
        used = meta.find_undeclared_variables(_env.parse(body))
    except jinja2.TemplateSyntaxError as exc:
        raise field_error("body", f"template syntax error on line {exc.lineno}: {exc.message}") from None
    unknown = sorted(used - set(allowed))
    if unknown:
        raise field_error(
            "body",
            f"unknown placeholder(s) {', '.join(unknown)}; a {kind} may use {', '.join(sorted(allowed))}",
        )
    try:
        _env.from_string(body).render(allowed)
    except jinja2.TemplateError as exc:
        raise field_error("body", f"the template fails to render: {exc}") from None


def render(template: DocumentTemplate, context: dict[str, str]) -> str:
    """The document text made from a stored template version."""
    return _env.from_string(template.body).render(context)


def _seed_defaults() -> None:
    """Store version 1 of each kind from texts.py the first time it is needed."""
    for kind, (title, body) in DEFAULTS.items():
        if db.session.scalar(sa.select(DocumentTemplate.id).where(DocumentTemplate.kind == kind)):
            continue
        try:
            # A savepoint, so a concurrent first use (same kind, version 1) loses only this insert.
            with db.session.begin_nested():
                db.session.add(
                    DocumentTemplate(
                        kind=kind, version_no=texts.TEMPLATE_VERSION, title=title, body=body, note="初始版本"
                    )
                )
        except sa.exc.IntegrityError:
            pass


def current_template(kind: str) -> DocumentTemplate:
    """The newest version of a kind of template (version 1 is stored on first use)."""
    _seed_defaults()
    return db.session.scalars(
        sa.select(DocumentTemplate)
        .where(DocumentTemplate.kind == kind)
        .order_by(DocumentTemplate.version_no.desc())
        .limit(1)
    ).one()


def get_template(template_id: uuid.UUID, kind: str) -> DocumentTemplate:
    """A stored template version of a kind; another kind or an unknown id is a 422."""
    template = db.session.get(DocumentTemplate, template_id)
    if template is None or template.kind != kind:
        raise field_error("template_id", f"no such {kind} template")
    return template


def list_templates(kind: str | None = None) -> list[DocumentTemplate]:
    """Every stored version, by kind then version."""
    _seed_defaults()
    stmt = sa.select(DocumentTemplate).order_by(DocumentTemplate.kind, DocumentTemplate.version_no)
    if kind:
        stmt = stmt.where(DocumentTemplate.kind == kind)
    return list(db.session.scalars(stmt))


def create_version(*, kind: str, title: str, body: str, note: str = "", created_by) -> DocumentTemplate:
    """Store an edit as the next version of its kind; documents already made keep theirs."""
    check_body(kind, body)
    latest = current_template(kind)
    template = DocumentTemplate(
        kind=kind,
        version_no=latest.version_no + 1,
        title=title,
        body=body,
        note=note,
        created_by_id=created_by.id if created_by else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(template)
    except sa.exc.IntegrityError:
        raise Problem(
            409, "Someone saved another version of this template at the same moment; reload and retry."
        ) from None
    return template
