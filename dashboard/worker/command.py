"""`cliftonsites worker` (also `cliftonsites-worker`): the command line of the worker."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from typing import get_args

import click

from dashboard.data.models import Process
from dashboard.settings import Settings, load_settings
from dashboard.worker.contacts import ContactChain, DemoContactFinder, SourceEmail
from dashboard.worker.context import WorkerContext, WorkerOptions, default_worker_id
from dashboard.worker.ports import BusinessFinder, ContactFinder, SiteBuilder
from dashboard.worker.sites import DatabaseDeployer, JinjaSiteBuilder

PROCESSES: dict[str, tuple[Process, ...]] = {
    **{process: (process,) for process in get_args(Process)},
    "both": get_args(Process),
}


@click.command("worker")
@click.option(
    "--process",
    "process",
    type=click.Choice(list(PROCESSES)),
    default="both",
    show_default=True,
    help="Which process(es) this worker runs.",
)
@click.option("--once", is_flag=True, help="Work until there is nothing left, then exit.")
@click.option(
    "--worker-id", default=None, help="Name in automation_status (default host:pid:rand)."
)
@click.option(
    "--pace",
    type=click.FloatRange(0, 3600),
    default=None,
    help="Seconds between items when the config's pace_seconds is 0"
    " [default: WORKER_PACE_SECONDS].",
)
@click.option(
    "--finder",
    type=click.Choice(["auto", "demo", "google"]),
    default="auto",
    show_default=True,
    help="Business finder; auto = Google when GOOGLE_PLACES_API_KEY is set.",
)
@click.option(
    "--failure-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    envvar="WORKER_FAILURE_RATE",
    help="Share of builds that fail on purpose (demo).",
)
@click.option(
    "--max-backlog",
    type=click.IntRange(0, 1_000_000),
    default=0,
    show_default=True,
    envvar="WORKER_MAX_BACKLOG",
    help="Identification waits while this many found businesses with an email are still"
    " queued (0: never waits). Finding more than the builders can build only costs lookups.",
)
@click.option(
    "--build-delay",
    type=click.FloatRange(0, 600),
    default=0.0,
    show_default=True,
    envvar="WORKER_BUILD_DELAY",
    help="Simulated seconds per build (demo).",
)
@click.option(
    "--claim-url",
    default="",
    envvar="CLAIM_URL_TEMPLATE",
    help="The banner's claim link; {uuid} is replaced. Default: the claim page"
    " <SITES_BASE_URL>/claim/{uuid} (Stripe Checkout, or the demo's test checkout).",
)
@click.option("--heartbeat-seconds", type=click.FloatRange(0.1, 60), default=3.0, show_default=True)
@click.option(
    "--stale-reset-seconds",
    type=click.FloatRange(0.1, 86400),
    default=60.0,
    show_default=True,
    help="How often stale claims are requeued.",
)
@click.option(
    "--provider-cooldown",
    type=click.FloatRange(0, 86400),
    default=300.0,
    show_default=True,
    help="Seconds before a provider guard pause is lifted.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every item on stderr.")
def worker(
    process: str,
    once: bool,
    worker_id: str | None,
    pace: float | None,
    finder: str,
    failure_rate: float,
    max_backlog: int,
    build_delay: float,
    claim_url: str,
    heartbeat_seconds: float,
    stale_reset_seconds: float,
    provider_cooldown: float,
    verbose: bool,
) -> None:
    """Run the automation worker: identification, implementation, or both."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    settings = load_settings()
    options = WorkerOptions(
        pace_seconds=pace if pace is not None else settings.worker_pace_seconds,
        heartbeat_seconds=heartbeat_seconds,
        stale_reset_seconds=stale_reset_seconds,
        provider_cooldown_seconds=provider_cooldown,
        max_backlog=max_backlog,
    )
    found_by = make_finder(finder, settings)
    providers = Providers(
        finder=found_by,
        contacts=make_contacts(found_by, settings),
        builder=JinjaSiteBuilder(
            claim_url_template=claim_url or f"{settings.sites_url}/claim/{{uuid}}",
            failure_rate=failure_rate,
            delay_seconds=build_delay,
        ),
    )
    wid = worker_id or default_worker_id()
    code = asyncio.run(_main(settings, PROCESSES[process], once, wid, providers, options))
    sys.exit(code)


@dataclass(frozen=True)
class Providers:
    finder: BusinessFinder
    contacts: ContactChain
    builder: SiteBuilder


async def _main(
    settings: Settings,
    processes: tuple[Process, ...],
    once: bool,
    worker_id: str,
    providers: Providers,
    options: WorkerOptions,
) -> int:
    from dashboard.backends.base import BackendError
    from dashboard.runtime import close_runtime, open_runtime
    from dashboard.worker.main import Worker

    # The embedded server (no DATABASE_URL) is shared with the app: never stopped here.
    runtime = await open_runtime(settings, run_migrations=False)
    try:
        # Sites go to the database, so every app instance serves them (SITES_BASE_URL).
        deployer = DatabaseDeployer(runtime.db, settings.sites_url)
        ctx = WorkerContext(
            runtime.api, worker_id, providers.finder, providers.builder, deployer, options,
            contacts=providers.contacts,
        )  # fmt: skip
        worker = Worker(ctx, processes, runtime.database_url)
        worker.install_signal_handlers()
        if once:
            totals = await worker.run_once(show_progress=sys.stderr.isatty())
            for name, (done, failed) in totals.items():
                click.echo(f"{name}: {done} done, {failed} failed")
        else:
            click.echo(f"worker {worker_id} running {', '.join(processes)}", err=True)
            await worker.run_forever()
    except BackendError as exc:
        click.echo(
            f"error: {exc}. Is the database migrated? Run `cliftonsites db migrate`.", err=True
        )
        return 1
    finally:
        await close_runtime()
    return 0


def make_finder(choice: str, settings: Settings) -> BusinessFinder:
    from dashboard.worker.finders import DemoFinder

    if choice == "google" or (choice == "auto" and settings.google_places_api_key):
        from dashboard.worker.google_places import GooglePlacesFinder

        if not settings.google_places_api_key:
            raise click.UsageError("--finder google needs GOOGLE_PLACES_API_KEY")
        return GooglePlacesFinder(settings.google_places_api_key)
    return DemoFinder()


def make_contacts(finder: BusinessFinder, settings: Settings) -> ContactChain:
    """The contact step's providers: the source's own email first; then Hunter.io with
    HUNTER_API_KEY, else invented addresses only behind the demo finder (a real finder's
    businesses get no made-up email: they wait for a hand-entered or imported one)."""
    chain: list[ContactFinder] = [SourceEmail()]
    if settings.hunter_api_key:
        from dashboard.worker.hunter import HunterContactFinder

        chain.append(
            HunterContactFinder(settings.hunter_api_key, api_base=settings.hunter_api_base)
        )
    elif finder.name == "demo_finder":
        chain.append(DemoContactFinder())
    return ContactChain(chain)
