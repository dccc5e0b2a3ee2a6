"""`flask --app wsgi demo load`: the demo campaign, loaded once (a second run adds nothing)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from signage.demo import loader

demo_cli = AppGroup("demo", help="The demo campaign.")


@demo_cli.command("load")
def load() -> None:
    """Load the demo campaign and print its sign-ins."""
    summary = loader.load_demo()
    for line in summary.lines:
        click.echo(line)
    click.echo("")
    click.echo("Demo sign-ins (POST /api/v1/auth/token with username and password):")
    for account in loader.DEMO_ACCOUNTS:
        zones = f" zones {','.join(account.zones)}" if account.zones else ""
        click.echo(f"  {account.role:<10} {account.username:<12} {account.password}{zones}")
