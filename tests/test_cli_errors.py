"""The command line answers bad configuration and an unreachable database with one
readable line and a non-zero exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess

from tests.e2e_support import cli_command


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | env
    return subprocess.run(
        [*cli_command(), *args], env=full_env, capture_output=True, text=True, timeout=60
    )


def test_an_unreachable_database_is_one_line_that_says_what_to_check() -> None:
    for args in (["status"], ["db", "migrate"], ["admin", "list"], ["queue"]):
        result = run(*args, DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere")
        assert result.returncode == 3, (args, result.stderr)
        assert "cannot reach the database" in result.stderr
        assert "Check DATABASE_URL" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_database_url_of_the_wrong_kind_names_the_variable() -> None:
    result = run("db", "migrate", DATABASE_URL="mysql://root@localhost/x")
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "postgresql://" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_short_secret_key_is_refused_with_how_to_make_one() -> None:
    result = run("serve", SECRET_KEY="short", DATABASE_URL="postgresql://x@127.0.0.1:1/x")
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr and "at least 32 characters" in result.stderr
