"""The README is the front door: its configuration table and command list must match
the code, so a new setting or command cannot ship undocumented (and a removed one
cannot linger in the docs)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from dashboard.cli import cli
from dashboard.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
#: Read by the worker's command line rather than by Settings.
WORKER_ONLY = {"WORKER_FAILURE_RATE", "CLAIM_URL_TEMPLATE", "WORKER_MAX_BACKLOG"}


def section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 3)
    return README[start : end if end != -1 else None]


def test_every_setting_is_in_the_configuration_table_and_nothing_else() -> None:
    table_rows = [line for line in section("Configuration").splitlines() if line.startswith("| `")]
    documented = {
        name for row in table_rows for name in re.findall(r"`([A-Z][A-Z_]+)`", row.split("|")[1])
    }
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - documented == set(), "settings missing from the README"
    assert documented - settings - WORKER_ONLY == set(), "README documents unknown variables"


def test_every_command_is_in_the_command_table() -> None:
    commands = set(cli.commands)
    rows = [
        line.replace("\\|", "/")  # escaped pipes inside a cell
        for line in section("The command line").splitlines()
        if line.startswith("| `")
    ]
    listed = {
        span.split()[0] for row in rows for span in re.findall(r"`([^`]+)`", row.split("|")[1])
    }
    assert commands - listed == set(), "commands missing from the README"
    assert listed - commands == set(), "README lists commands that do not exist"


def test_the_two_commands_are_the_quick_start_and_ci_runs_make_test() -> None:
    quick = section("Quick start: two commands")
    assert "make demo" in quick and "make test" in quick
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test" in ci
    assert CliRunner().invoke(cli, ["--help"]).exit_code == 0
