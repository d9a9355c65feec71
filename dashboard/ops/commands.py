"""The ops subcommands of `cliftonsites`: `db seed`, `doctor`, `business`, `queue`,
`status` and `logs`. `dashboard/cli.py` only registers them."""

from __future__ import annotations

import sys

import click

from dashboard.ops.connect import database

URL_OPTION = click.option(
    "--database-url", envvar="DATABASE_URL", help="Server to use (default: the embedded one)"
)


@click.command("seed")
@URL_OPTION
@click.option("--businesses", default=10_000, show_default=True, help="Pipeline businesses")
@click.option("--targets", default=200, show_default=True, help="Identification targets")
@click.option("--seed", "seed_value", default=42, show_default=True, help="Random seed")
def seed_command(database_url: str | None, businesses: int, targets: int, seed_value: int) -> None:
    """Fill an EMPTY database with realistic demo data (COPY, one transaction)."""
    from dashboard.seed import SeedError, run_cli_seed, validate

    try:
        validate(businesses, targets)
        with database(database_url) as (_, url):
            report = run_cli_seed(url, businesses, targets, seed_value, tty=sys.stderr.isatty())
    except SeedError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report.message)


def register(cli: click.Group, db: click.Group) -> None:
    """Attach the ops commands to the `cliftonsites` group and its `db` group."""
    db.add_command(seed_command)
