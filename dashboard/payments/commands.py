"""Command line: `cliftonsites reconcile [--fix]` and `cliftonsites stripe simulate`."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import click

from dashboard.settings import load_settings


@click.command("reconcile")
@click.option("--fix", "apply_fixes", is_flag=True, help="Apply the fix of every finding.")
@click.option(
    "--as",
    "admin_email",
    envvar="CLIFTONSITES_ADMIN",
    help="With --fix: the admin doing it (their email), named in every audit row.",
)
def reconcile(apply_fixes: bool, admin_email: str | None) -> None:
    """List where payments and outreach disagree (and fix them with --fix --as EMAIL)."""
    if apply_fixes and not admin_email:
        raise click.UsageError(
            "--fix needs --as EMAIL (or CLIFTONSITES_ADMIN): the admin the audit log names"
        )
    asyncio.run(_reconcile(apply_fixes, admin_email))


async def _reconcile(apply_fixes: bool, admin_email: str | None) -> None:
    from dashboard.auth.actor import UnknownAdmin, admin_actor
    from dashboard.components.timefmt import format_time
    from dashboard.payments.reconcile import LIMIT, TITLES, Kind, fix, fix_message, list_mismatches
    from dashboard.runtime import close_runtime, open_runtime

    runtime = await open_runtime(load_settings())
    try:
        try:
            actor = await admin_actor(runtime.db, admin_email) if admin_email else None
        except UnknownAdmin as exc:
            raise click.ClickException(str(exc)) from None
        # a read lists at most LIMIT of a kind, oldest first; with --fix, read again after
        # fixing until no kind has more, or a read brings nothing new (the rest are the
        # ones whose fixes did not clear them: each is tried once)
        seen: set[tuple[str, str]] = set()
        while True:
            more: set[Kind] = set()
            findings = await list_mismatches(runtime.api, more=more)
            new = [f for f in findings if (f.kind, f.subject) not in seen]
            if not seen and not findings:
                click.echo("no mismatches: payments, sites and outreach agree")
            for finding in new:
                since = f"  (since {format_time(finding.since)})" if finding.since else ""
                click.echo(f"{finding.title}: {finding.subject}  {finding.detail}{since}")
                if actor is not None:
                    try:
                        result = await fix(runtime.api, finding, actor)
                    except Exception as exc:  # a provider or the database refused: go on
                        click.echo(f"  -> {finding.fix_label} failed: {exc}")
                    else:
                        click.echo(f"  -> {fix_message(finding, result)[0]}")
            seen |= {(f.kind, f.subject) for f in new}
            if not apply_fixes or not more or not new:
                break
        if findings and not apply_fixes:
            click.echo(f"{len(findings)} mismatches; run with --fix to apply every fix")
        for kind in sorted(more):
            if apply_fixes:
                click.echo(
                    f"{TITLES[kind]}: more than {LIMIT} remain, and the oldest {LIMIT} are ones"
                    " their fixes did not clear (above): see to those, then run again"
                )
            else:
                click.echo(f"{TITLES[kind]}: more than {LIMIT}; only the oldest {LIMIT} are listed")
    finally:
        await close_runtime()
        if runtime.embedded_server is not None:
            runtime.embedded_server.cleanup()


@click.group("stripe")
def stripe_group() -> None:
    """Stripe demo tools."""


@stripe_group.command("simulate")
@click.option("--business", "uuid", required=True, help="The business's 8-character uuid.")
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="The running app.")
@click.option("--email", default="owner@example.com", show_default=True, help="Customer email.")
def simulate(uuid: str, url: str, email: str) -> None:
    """Send a correctly signed checkout.session.completed for one business."""
    from dashboard.payments.simulate import SimulateError, checkout_completed, send, webhook_secret

    if not re.fullmatch(r"[a-z0-9]{8}", uuid):
        raise click.BadParameter(
            "a business uuid is 8 lowercase letters or digits", param_hint="--business"
        )
    try:
        settings = load_settings()
        secret = webhook_secret(Path(settings.data_dir), settings.stripe_webhook_secret)
        event = checkout_completed(uuid, email=email)
        response = asyncio.run(send(url, event, secret))
    except SimulateError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"sent {event['id']} for business {uuid}: HTTP {response.status_code} {response.text}"
    )
    if response.status_code >= 400:
        raise SystemExit(1)
