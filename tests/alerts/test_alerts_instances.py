"""Two real `cliftonsites serve` processes on one database, both running the alert
loop every half second: each alert's message reaches the SMTP server once, not twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests import e2e_support as e2e
from tests.dbutil import create_migrated_database, drop_database, sql, wait_until

SMTP_PORT = 8124


class Inbox:
    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.subjects.append(str(message_from_bytes(envelope.content)["Subject"]))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    found = Inbox()
    controller = Controller(found, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    yield found
    controller.stop()


@pytest.fixture
def shared_db(embedded_admin_url: str) -> Iterator[str]:
    url = create_migrated_database(embedded_admin_url)
    yield url
    drop_database(embedded_admin_url, url)


def test_two_app_instances_send_each_alert_message_once(
    shared_db: str, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("two-instances")
    env = {
        "SMTP_URL": f"smtp://127.0.0.1:{SMTP_PORT}",
        "ALERT_EMAIL_TO": "ops@example.com",
        "ALERT_CHECK_SECONDS": "0.5",
    }
    apps = [e2e.spawn_app(shared_db, work, name, **env) for name in ("one", "two")]
    try:
        e2e.wait_ready(*apps)
        # no worker has ever reported: one alert per process, fired by whichever instance
        wait_until(lambda: len(inbox.subjects) >= 2, 30, "two alert messages")
        # the point: both instances keep evaluating (0.5 s passes, three each at least)
        # and neither sends the open alerts again
        time.sleep(1.5)
        assert sorted(inbox.subjects) == [
            "[ALERT] CliftonSites: no identification worker has ever reported",
            "[ALERT] CliftonSites: no implementation worker has ever reported",
        ]
        rows = sql(shared_db, "select count(*) as n from admin_private.alerts")
        assert rows[0]["n"] == 2
    finally:
        for app in apps:
            app.proc.stop()
