"""`cliftonsites alerts check`: one evaluation pass and one delivery round, for cron on
a machine where the app itself may be down. Safe beside running app instances: the
pass takes the same advisory lock, and messages the same row locks. When another
instance holds the pass, the command waits for it to commit, then delivers and counts
what it wrote, so its exit code is never a guess."""

from __future__ import annotations

import asyncio

import click

from dashboard.settings import load_settings


@click.group("alerts")
def alerts() -> None:
    """Alerts: evaluate the rules and deliver the messages."""


@alerts.command("check")
def check() -> None:
    """Evaluate every alert rule once and deliver due messages (exit 1 while any fires)."""
    firing = asyncio.run(_check())
    raise SystemExit(1 if firing else 0)


async def _check() -> int:
    from dashboard.alerts.delivery import outbox_folder
    from dashboard.alerts.loop import check_once
    from dashboard.data.alerts import firing_alerts
    from dashboard.runtime import close_runtime, open_runtime

    settings = load_settings()
    runtime = await open_runtime(settings)
    try:
        report, sent, failed = await check_once(runtime.db, settings, wait=True)
        if not report.ran:
            click.echo("another instance was evaluating; this check waited for its pass")
        firing = await firing_alerts(runtime.db)
    finally:
        await close_runtime()
    for alert in firing:
        click.echo(f"FIRING  #{alert.id} {alert.kind} {alert.subject}: {alert.title}")
    click.echo(
        f"{len(firing)} firing; {report.fired} fired, {report.reminded} reminded,"
        f" {report.resolved} resolved now; {sent} messages sent, {failed} failed"
    )
    if not settings.smtp_url:
        click.echo(f"email goes to the folder {outbox_folder(settings)} (SMTP_URL is unset)")
    return len(firing)
