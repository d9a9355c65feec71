"""The `cliftonsites` command: demo, serve, worker, db migrate|seed, admin ..."""

from __future__ import annotations

import sys

import click

from dashboard.settings import SettingsError, load_settings


@click.group()
def cli() -> None:
    """CliftonSites admin: database, dashboard and automation worker."""


@cli.group()
def db() -> None:
    """Database: migrate and seed."""


@db.command("migrate")
@click.option("--database-url", envvar="DATABASE_URL", help="Server to migrate (default: embedded)")
def db_migrate(database_url: str | None) -> None:
    """Apply the local bootstrap (where Supabase's pieces are missing) and new migrations."""
    from dashboard.backends.migrate import MigrationError, migrate
    from dashboard.runtime import resolve_database_url

    settings = load_settings(database_url=database_url) if database_url else load_settings()
    _, url, server = resolve_database_url(settings)
    try:
        report = migrate(url)
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if server is not None:
            server.cleanup()
    for line in report.lines():
        click.echo(line)


@cli.command("demo")
def demo_command() -> None:
    """Everything for a first look: database, demo data, first admin, worker and app."""
    from dashboard.serve import demo

    demo()


@cli.command("serve")
def serve_command() -> None:
    """Run the app (FastAPI routes + NiceGUI at /admin) on HOST:PORT."""
    from dashboard.serve import serve_command as run

    run()


def _register_ops() -> None:
    from dashboard.ops.commands import register

    register(cli, db)


_register_ops()


def _add_worker_command() -> None:
    from dashboard.worker.command import worker

    cli.add_command(worker)


_add_worker_command()


def _add_admin_commands() -> None:
    from dashboard.auth.cli import admin

    cli.add_command(admin)


_add_admin_commands()


def _add_payment_commands() -> None:
    from dashboard.payments.commands import reconcile, stripe_group

    cli.add_command(reconcile)
    cli.add_command(stripe_group)


_add_payment_commands()


def _add_contact_commands() -> None:
    from dashboard.contacts.commands import contacts_group

    cli.add_command(contacts_group)


_add_contact_commands()


def _add_alert_commands() -> None:
    from dashboard.alerts.commands import alerts

    cli.add_command(alerts)


_add_alert_commands()


def main() -> None:
    run(cli)


def run(command: click.Command) -> None:
    """Run a command line; known failures end with one clear line and exit 2 or 3."""
    import psycopg

    from dashboard.backends.base import BackendError
    from dashboard.backends.embedded import EmbeddedServerError

    try:
        command(standalone_mode=True)
    except (SettingsError, EmbeddedServerError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        click.echo(
            f"error: cannot reach the database ({reason}). Check DATABASE_URL, or unset it"
            " to use the embedded server in DATA_DIR.",
            err=True,
        )
        sys.exit(3)
    except BackendError as exc:
        click.echo(f"error: the database refused the request: {exc}", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
