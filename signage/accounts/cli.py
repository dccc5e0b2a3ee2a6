"""`flask --app wsgi users ...`: manage staff accounts from the shell."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from signage.accounts import service
from signage.accounts.schemas import STAFF_ROLES, UserCreateSchema
from signage.core.db import db
from signage.core.errors import Problem

users_cli = AppGroup("users", help="Manage staff accounts.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--zone", "zones", multiple=True, help="Zone code (repeat for several).")
@click.option("--display-name", default="", help="Name shown in the app.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(name: str, role: str, zones: tuple[str, ...], display_name: str, password_stdin: bool) -> None:
    """Add a staff account (admin, supervisor, inspector)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreateSchema().load(
            {
                "username": name,
                "role": role,
                "password": password,
                "zones": list(zones),
                "display_name": display_name,
            }
        )
        user = service.create_user(**data)
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        raise click.ClickException(_messages(exc.messages)) from None
    except Problem as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from None
    zone_text = f" in {', '.join(user.zone_codes)}" if user.zone_codes else ""
    click.echo(f"created {user.role} {user.username}{zone_text} ({user.id})")


def _messages(messages: dict) -> str:
    return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in messages.items())
