"""The ops subcommands of `cliftonsites`: `db seed`, `doctor`, `business`, `queue`,
`status` and `logs`. `dashboard/cli.py` only registers them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import TypeVar

import click
import psycopg

from dashboard.ops.connect import database

T = TypeVar("T")
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


@click.command("doctor")
@URL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def doctor_command(database_url: str | None, as_json: bool) -> None:
    """Check the database against the schema's promises; exit 1 when anything fails."""
    from dashboard.ops.doctor import run_doctor
    from dashboard.ops.render import doctor_text

    with database(database_url) as (mode, url):
        report, catalog = _guard(lambda: run_doctor(url))
    if as_json:
        body = report.to_json() | {"server_version": catalog.server_version, "mode": mode}
        click.echo(json.dumps(body, indent=2))
    else:
        click.echo(doctor_text(report, url=url, version=catalog.server_version, mode=mode))
    if not report.ok:
        sys.exit(1)


@click.command("business")
@click.argument("key")
@URL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def business_command(key: str, database_url: str | None, as_json: bool) -> None:
    """Where a business stands and why (KEY: its 8-char uuid, place_id or id)."""
    from dashboard.ops.why import BusinessNotFound, explain_business

    with database(database_url) as (_, url), psycopg.connect(url, autocommit=True) as conn:
        try:
            explanation = _guard(lambda: explain_business(conn, key))
        except BusinessNotFound as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(asdict(explanation), indent=2))
    else:
        click.echo(explanation.text)


@click.command("queue")
@URL_OPTION
@click.option("--limit", default=10, show_default=True, help="How many next-up rows")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def queue_command(database_url: str | None, limit: int, as_json: bool) -> None:
    """Pipeline counts per status, and the businesses next in line."""
    from dashboard.ops.views import queue_data, queue_text

    with database(database_url) as (_, url), psycopg.connect(url, autocommit=True) as conn:
        data = _guard(lambda: queue_data(conn, limit))
    click.echo(json.dumps(data, indent=2, default=str) if as_json else queue_text(data))


@click.command("status")
@URL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def status_command(database_url: str | None, as_json: bool) -> None:
    """Automation processes, config switches, identification progress and latest runs."""
    from dashboard.ops.views import status_data, status_text

    with database(database_url) as (_, url), psycopg.connect(url, autocommit=True) as conn:
        data = _guard(lambda: status_data(conn))
    click.echo(json.dumps(data, indent=2, default=str) if as_json else status_text(data))


@click.command("logs")
@URL_OPTION
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines (Ctrl-C stops)")
@click.option("--process", help="identification, implementation, outreach, payments, system")
@click.option("--level", help="Minimum level: debug, info, warning, error")
@click.option("--limit", default=50, show_default=True, help="How many recent lines")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line")
def logs_command(
    database_url: str | None,
    follow: bool,
    process: str | None,
    level: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Recent automation log lines, optionally followed live."""
    from dashboard.ops.views import follow_logs, log_line, log_rows, validate_log_filters

    try:
        validate_log_filters(process, level)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with database(database_url) as (_, url), psycopg.connect(url, autocommit=True) as conn:
        rows = (
            follow_logs(conn, process=process, level=level, limit=limit)
            if follow
            else iter(_guard(lambda: log_rows(conn, process=process, level=level, limit=limit)))
        )
        try:
            for row in rows:
                click.echo(json.dumps(row, default=str) if as_json else log_line(row))
        except KeyboardInterrupt:
            pass


def _guard(action: Callable[[], T]) -> T:
    """Turn a database error into one readable line instead of a traceback."""
    try:
        return action()
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {str(exc).strip()}") from None
    except psycopg.Error as exc:
        raise click.ClickException(f"database error: {str(exc).strip()}") from None


def register(cli: click.Group, db: click.Group) -> None:
    """Attach the ops commands to the `cliftonsites` group and its `db` group."""
    db.add_command(seed_command)
    cli.add_command(doctor_command)
    cli.add_command(business_command)
    cli.add_command(queue_command)
    cli.add_command(status_command)
    cli.add_command(logs_command)
