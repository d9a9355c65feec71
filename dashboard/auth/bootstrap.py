"""The first admin for `make demo`: from ADMIN_EMAIL / ADMIN_PASSWORD, or with a
generated password printed once."""

from __future__ import annotations

import secrets

import click
import psycopg

from dashboard.auth.admins import AdminError, create_admin
from dashboard.settings import Settings

DEFAULT_EMAIL = "admin@example.com"


def ensure_first_admin(settings: Settings, database_url: str) -> str | None:
    """Create the first admin when there is none; return the generated password, if any."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("select count(*) from auth.users").fetchone()
    if row is not None and row[0] > 0:
        click.echo("first admin: already there")
        return None
    email = settings.admin_email or DEFAULT_EMAIL
    password = settings.admin_password
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(18)
    try:
        create_admin(database_url, email, password)
    except AdminError as exc:
        raise click.ClickException(f"first admin from ADMIN_EMAIL/ADMIN_PASSWORD: {exc}") from None
    if generated:
        click.echo(f"first admin: {email} with password {generated}  (shown once: save it now)")
    else:
        click.echo(f"first admin: {email} (password from ADMIN_PASSWORD)")
    click.echo("sign in, then scan the QR code with an authenticator app to finish setup")
    return generated
