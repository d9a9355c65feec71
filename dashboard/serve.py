"""`cliftonsites serve` and `cliftonsites demo`: run the app (and, for the demo, a worker).

The demo prepares everything a newcomer needs on an empty machine: secrets in
`.data/secrets.env`, the embedded PostgreSQL (or DATABASE_URL), migrations, demo data
when the database has no businesses, a first admin, and a worker at a human pace.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click
import uvicorn

from dashboard.settings import Settings, ensure_demo_secrets, load_settings


def serve(settings: Settings) -> None:
    from dashboard.access_log import uvicorn_log_config
    from dashboard.app import create_app

    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=uvicorn_log_config(),  # tickets, client ids and tokens redacted
        proxy_headers=True,
    )


def prepare_demo(settings: Settings, database_url: str) -> None:
    """Migrate, seed an empty database and make sure a first admin exists."""
    from dashboard.backends.migrate import migrate

    report = migrate(database_url)
    click.echo(f"database ready ({len(report.applied)} migrations applied)")
    try:
        from dashboard.seed import ensure_demo_data
    except ImportError:
        click.echo("demo data: seeding is not available in this build")
    else:
        ensure_demo_data(database_url, settings.sites_url)
    try:
        from dashboard.auth.bootstrap import ensure_first_admin
    except ImportError:
        click.echo("first admin: admin creation is not available in this build")
    else:
        ensure_first_admin(settings, database_url)


def start_worker(settings: Settings, database_url: str) -> subprocess.Popen[bytes]:
    """The demo's worker: a separate process, as on the VM, sharing the same database."""
    env = dict(os.environ, DATABASE_URL=database_url)
    env.setdefault("WORKER_FAILURE_RATE", "0.05")  # the odd failure, so retries show live
    # find only what the builders keep up with, so what the demo finds reaches outreach
    env.setdefault("WORKER_MAX_BACKLOG", "5")
    exe = Path(sys.executable).with_name("cliftonsites")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "dashboard.cli"]
    return subprocess.Popen(
        [*cmd, "worker", "--process", "both"], env=env, preexec_fn=_die_with_parent
    )


def _die_with_parent() -> None:
    """In the worker child: get SIGTERM when the demo process dies, however it dies
    (uvicorn re-raises SIGTERM after shutdown, so a `finally` in the demo may not run)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def demo() -> None:
    generated = ensure_demo_secrets(Path(os.environ.get("DATA_DIR", ".data")))
    if generated:
        click.echo(f"generated secrets {', '.join(generated)} into .data/secrets.env")
    demo_sites_origin()
    settings = load_settings()
    from dashboard.runtime import resolve_database_url

    _, database_url, server = resolve_database_url(settings)
    prepare_demo(settings, database_url)
    worker = start_worker(settings, database_url)
    from dashboard.alerts.delivery import destinations

    click.echo(destinations(settings))
    click.echo(f"sign in at http://{settings.host}:{settings.port}/admin")
    click.echo(f"sites are served at {settings.sites_url}/sites/<uuid>/")
    # uvicorn re-raises SIGTERM once it has shut down; turning it into SystemExit lets the
    # `finally` below stop the worker while the database is still up, then the database.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        serve(settings)  # resolves the same database (the embedded server is shared by handle)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        if server is not None:
            server.cleanup()


def demo_sites_origin() -> None:
    """The demo's two origins on one port: the admin at http://127.0.0.1:PORT, the sites
    at http://localhost:PORT (told apart by the Host header, api/site_host.py); and the
    local test checkout, since the demo has no Stripe key. Set values are kept."""
    host = os.environ.get("HOST", "127.0.0.1")
    if host in ("127.0.0.1", "0.0.0.0") and not os.environ.get("PUBLIC_BASE_URL"):  # noqa: S104
        os.environ.setdefault(
            "SITES_BASE_URL", f"http://localhost:{os.environ.get('PORT', '8080')}"
        )
    os.environ.setdefault("CLAIM_TEST_CHECKOUT", "true")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def serve_command() -> None:
    serve(load_settings())
