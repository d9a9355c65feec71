"""`cliftonsites contacts import FILE [--dry-run]`: owner emails from a CSV.

The file has a header with `email` and `place_id` or `uuid`. Every line is reported
(`line N: <key>: <what changes>` or its error); with any error nothing is written, and
the command exits 1. `--dry-run` reports the same and writes nothing in any case.
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path

import click

from dashboard.settings import load_settings


@click.group("contacts")
def contacts_group() -> None:
    """Owner emails of businesses."""


@contacts_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
def import_command(file: Path, dry_run: bool) -> None:
    """Set owner emails from FILE (CSV: place_id or uuid, email)."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text: save it as UTF-8 CSV") from None
    code = asyncio.run(_import(text, dry_run))
    raise SystemExit(code)


async def _import(text: str, dry_run: bool) -> int:
    from dashboard.backends.base import Caller
    from dashboard.contacts.edits import ImportRefused, apply_import, plan_import
    from dashboard.outreach import get_provider
    from dashboard.runtime import close_runtime, open_runtime

    runtime = await open_runtime(load_settings(), run_migrations=False)
    try:
        try:
            plan = await plan_import(runtime.db, text)
        except ImportRefused as exc:
            click.echo(f"error: {exc}; nothing was written", err=True)
            return 1
        for line in plan.report():
            click.echo(line)
        summary = f"{len(plan.changes)} to change, {len(plan.errors)} with errors"
        if plan.errors:
            click.echo(f"{summary}: fix the lines above; nothing was written", err=True)
            return 1
        if dry_run:
            click.echo(f"{summary} (dry run: nothing was written)")
            return 0
        caller = Caller(role="service_role", email=f"cli:{getpass.getuser()}")
        written = await apply_import(runtime.db, runtime.api, get_provider(runtime), caller, plan)
        started = sum(1 for s in written.started if s.outcome == "started")
        click.echo(f"{written.changed} email(s) written; outreach started for {started}")
        return 0
    finally:
        await close_runtime()
