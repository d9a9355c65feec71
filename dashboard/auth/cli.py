"""`cliftonsites admin ...`: create, list, reset-mfa, unlock (local provider)."""

from __future__ import annotations

import sys

import click

from dashboard.auth.admins import AdminError, create_admin, list_admins, reset_mfa, unlock


def _database_url(database_url: str | None) -> tuple[str, object]:
    from dashboard.runtime import resolve_database_url
    from dashboard.settings import load_settings

    settings = load_settings(database_url=database_url) if database_url else load_settings()
    _, url, server = resolve_database_url(settings)
    return url, server


def _run(database_url: str | None, action: object) -> object:
    url, server = _database_url(database_url)
    try:
        return action(url)  # type: ignore[operator]
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if server is not None:
            server.cleanup()  # type: ignore[attr-defined]


database_option = click.option(
    "--database-url", envvar="DATABASE_URL", help="Server to use (default: embedded)"
)


@click.group()
def admin() -> None:
    """Admin accounts: create, list, reset MFA, unlock."""


@admin.command("create")
@click.option("--email", required=True, help="The admin's email (their sign-in name)")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin")
@database_option
def create(email: str, password_stdin: bool, database_url: str | None) -> None:
    """Create an admin. Prompts for the password (or reads it from stdin)."""
    from dashboard.settings import load_settings

    if load_settings().supabase_mode:
        raise click.ClickException(
            "SUPABASE_URL is set: admins sign in with Supabase Auth, so create them in the"
            " Supabase dashboard and set app_metadata.cliftonsites_admin (docs/supabase.md)"
        )
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _run(database_url, lambda url: create_admin(url, email, password))
    click.echo(f"created admin {email}; they enrol an authenticator at their first sign-in")


@admin.command("list")
@database_option
def list_command(database_url: str | None) -> None:
    """Show every admin, whether MFA is set up, and recovery codes left."""
    rows = _run(database_url, list_admins)
    assert isinstance(rows, list)
    if not rows:
        click.echo("no admins yet: cliftonsites admin create --email you@example.com")
    for row in rows:
        last = f"{row.last_sign_in_at:%Y-%m-%d %H:%M} UTC" if row.last_sign_in_at else "never"
        mfa = "mfa on" if row.mfa else "mfa NOT set up"
        click.echo(
            f"{row.email:40} {mfa:15} codes left {row.recovery_codes_left:2}  last sign-in {last}"
        )


acting_option = click.option(
    "--as",
    "acting_email",
    required=True,
    envvar="CLIFTONSITES_ADMIN",
    help="The admin doing this (their email; CLIFTONSITES_ADMIN), named in the audit log.",
)


@admin.command("reset-mfa")
@click.option("--email", required=True)
@acting_option
@database_option
def reset_mfa_command(email: str, acting_email: str, database_url: str | None) -> None:
    """Remove an admin's authenticator and recovery codes and end their sessions."""
    _run(database_url, lambda url: reset_mfa(url, email, acting_email))
    click.echo(f"MFA reset for {email}: they enrol a new authenticator at their next sign-in")


@admin.command("unlock")
@click.option("--email", required=True)
@acting_option
@database_option
def unlock_command(email: str, acting_email: str, database_url: str | None) -> None:
    """Forget an account's failed attempts (per-address limits stay)."""
    count = _run(database_url, lambda url: unlock(url, email, acting_email))
    click.echo(f"cleared {count} failed attempt(s) for {email}")
