"""Terminal views: `cliftonsites queue`, `status` and `logs` (tables and `--json`)."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import psycopg
from click.testing import CliRunner

from dashboard.cli import cli
from dashboard.ops.views import follow_logs
from dashboard.seed import seed_database


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_queue_prints_counts_and_the_next_in_line(db_url: str) -> None:
    seed_database(db_url, businesses=400, targets=20)
    text = run("queue", "--database-url", db_url, "--limit", "3")
    assert "STATUS" in text and "queued" in text and "next up" in text
    data = json.loads(run("queue", "--database-url", db_url, "--limit", "3", "--json"))
    counts = {s["status"]: s["count"] for s in data["statuses"]}
    assert sum(counts.values()) == 400 and len(data["next"]) == 3
    first = data["next"][0]
    assert first["priority"] == max(b["priority"] for b in data["next"])


def test_status_shows_processes_config_and_runs(db_url: str) -> None:
    seed_database(db_url, businesses=200, targets=10)
    text = run("status", "--database-url", db_url)
    assert "implementation" in text and "outreach on" in text and "latest runs" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    data = json.loads(run("status", "--database-url", db_url, "--json"))
    assert {p["process"] for p in data["processes"]} == {"identification", "implementation"}
    assert data["identification"]["total"] == 10 and len(data["runs"]) == 8


def test_logs_filter_by_process_and_minimum_level(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "insert into automation_logs (process, level, message) values"
            " ('implementation', 'info', 'built one'), ('implementation', 'error', 'broke one'),"
            " ('outreach', 'error', 'smartlead down')"
        )
    text = run(
        "logs", "--database-url", db_url, "--process", "implementation", "--level", "warning"
    )
    assert "broke one" in text and "built one" not in text and "smartlead" not in text
    # times name their zone, whatever the session's time zone is
    [line] = [x for x in text.splitlines() if "broke one" in x]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  ERROR", line), line
    lines = run("logs", "--database-url", db_url, "--json").splitlines()
    assert [json.loads(line)["message"] for line in lines] == [
        "built one", "broke one", "smartlead down",
    ]  # fmt: skip


def test_logs_reject_an_unknown_level() -> None:
    result = CliRunner().invoke(cli, ["logs", "--level", "loud"])
    assert result.exit_code == 2 and "--level must be one of" in result.output


def test_follow_prints_lines_that_land_after_it_started(db_url: str) -> None:
    seen: list[str] = []
    done = threading.Event()

    def tail() -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for row in follow_logs(conn, process=None, level=None, limit=5,
                                   stop=done.is_set, interval=0.05):  # fmt: skip
                seen.append(row["message"])
                if row["message"] == "second":
                    done.set()

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("insert into automation_logs (process, level, message) values "
                     "('system', 'info', 'first')")  # fmt: skip
        thread = threading.Thread(target=tail)
        thread.start()
        conn.execute("insert into automation_logs (process, level, message) values "
                     "('system', 'info', 'second')")  # fmt: skip
        thread.join(timeout=10)
    assert done.is_set() and seen == ["first", "second"]
