"""`cliftonsites admin ...` and the demo's first admin, on a real database."""

from __future__ import annotations

import psycopg
from click.testing import CliRunner

from dashboard.auth.bootstrap import ensure_first_admin
from dashboard.backends.postgres import PostgresBackend
from dashboard.cli import cli
from dashboard.settings import load_settings
from tests.auth_helpers import EMAIL, PASSWORD, enrol, service
from tests.clock import FakeClock


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.output


def test_admin_create_reads_the_password_from_stdin_and_list_shows_it(app_db_url: str) -> None:
    code, out = run(
        "admin", "create", "--email", EMAIL, "--database-url", app_db_url, stdin=PASSWORD + "\n"
    )
    assert code == 0, out
    code, out = run("admin", "list", "--database-url", app_db_url)
    assert code == 0 and EMAIL in out and "mfa NOT set up" in out


def test_admin_create_refuses_a_short_password_and_a_duplicate(app_db_url: str) -> None:
    code, out = run(
        "admin", "create", "--email", EMAIL, "--database-url", app_db_url, stdin="short\n"
    )
    assert code == 1 and "at least 12 characters" in out
    run("admin", "create", "--email", EMAIL, "--database-url", app_db_url, stdin=PASSWORD + "\n")
    code, out = run(
        "admin",
        "create",
        "--email",
        EMAIL.upper(),
        "--database-url",
        app_db_url,
        stdin=PASSWORD + "\n",
    )
    assert code == 1 and "already exists" in out


async def test_reset_mfa_removes_the_factor_and_ends_sessions(app_db_url: str) -> None:
    run("admin", "create", "--email", EMAIL, "--database-url", app_db_url, stdin=PASSWORD + "\n")
    db = await PostgresBackend(app_db_url, max_size=2).open()
    try:
        clock = FakeClock()
        auth = service(db, clock)
        signed = await enrol(auth, clock)
        code, out = run(
            "admin", "reset-mfa", "--email", EMAIL, "--as", EMAIL, "--database-url", app_db_url
        )
        assert code == 0, out
        assert await auth.current(signed.token) is None
        assert await auth.verified_factor(signed.session) is None
        assert await auth.recovery.remaining(signed.session.user_id) == 0
    finally:
        await db.close()
    assert cli_audit(app_db_url, "mfa_reset") == [(signed.session.user_id, EMAIL.lower())]


def cli_audit(url: str, action: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select actor_id::text, actor_email from admin_audit_log where action = %s", (action,)
        ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


def test_reset_mfa_and_unlock_name_the_acting_admin_and_refuse_without_one(
    app_db_url: str,
) -> None:
    run("admin", "create", "--email", EMAIL, "--database-url", app_db_url, stdin=PASSWORD + "\n")
    other = "second@example.com"
    run("admin", "create", "--email", other, "--database-url", app_db_url, stdin=PASSWORD + "\n")
    for command in ("reset-mfa", "unlock"):
        code, out = run("admin", command, "--email", EMAIL, "--database-url", app_db_url)
        assert code == 2 and "--as" in out, out
        code, out = run(
            "admin", command, "--email", EMAIL, "--as", "nobody@example.com",
            "--database-url", app_db_url,
        )  # fmt: skip
        assert code == 1 and "no admin with email nobody@example.com" in out, out
    assert cli_audit(app_db_url, "mfa_reset") == cli_audit(app_db_url, "account_unlocked") == []
    with psycopg.connect(app_db_url) as conn:
        [(other_id,)] = conn.execute(
            "select id::text from auth.users where email = %s", (other,)
        ).fetchall()
    for command, action in (("reset-mfa", "mfa_reset"), ("unlock", "account_unlocked")):
        code, out = run(
            "admin", command, "--email", EMAIL, "--as", other.upper(), "--database-url", app_db_url
        )
        assert code == 0, out
        assert cli_audit(app_db_url, action) == [(other_id, other)]


def test_the_demo_creates_the_first_admin_once_with_a_generated_password(app_db_url: str) -> None:
    settings = load_settings(database_url=app_db_url, admin_email=EMAIL, admin_password=None)
    password = ensure_first_admin(settings, app_db_url)
    assert password is not None and len(password) >= 16
    assert ensure_first_admin(settings, app_db_url) is None
    with psycopg.connect(app_db_url) as conn:
        row = conn.execute("select email, encrypted_password from auth.users").fetchone()
    assert row is not None and row[0] == EMAIL.lower() and row[1].startswith("$argon2id$")
