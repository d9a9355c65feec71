"""What every part of a running worker shares: the database, its id, providers, options.

`WorkerContext.log` writes a line to `automation_logs` (with run and business ids)
and to stderr; a failed log write is reported on stderr and never stops the work.
`ProviderHealth` counts each provider's failures in a row for the provider guard.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dashboard.backends.base import Backend, BackendError
from dashboard.data.automation import log_automation_event
from dashboard.data.models import LogLevel, LogProcess, Process
from dashboard.worker.contacts import ContactChain, DemoContactFinder, SourceEmail
from dashboard.worker.ports import BusinessFinder, Deployer, SiteBuilder

log = logging.getLogger("dashboard.worker")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


@dataclass
class WorkerOptions:
    """Timings and knobs; the defaults suit production, tests shorten them."""

    #: Seconds between items when automation_config.pace_seconds is 0 (WORKER_PACE_SECONDS).
    pace_seconds: float = 0.0
    heartbeat_seconds: float = 3.0
    #: How long to wait for new work when a queue is empty (a NOTIFY wakes earlier).
    empty_wait_seconds: float = 5.0
    stale_reset_seconds: float = 60.0
    guard_seconds: float = 5.0
    #: After a provider guard pause, resume (and try the provider again) after this long.
    provider_cooldown_seconds: float = 300.0
    #: How long SIGTERM waits for the current item before releasing it.
    grace_seconds: float = 20.0
    #: Identification waits while this many found businesses with an email are queued
    #: (WORKER_MAX_BACKLOG; 0: never). The demo uses 5, so what it finds gets built.
    max_backlog: int = 0


@dataclass
class ProviderHealth:
    """Failures in a row per provider, and which process each provider serves."""

    streaks: dict[str, int] = field(default_factory=dict)
    process_of: dict[str, Process] = field(default_factory=dict)

    def success(self, provider: str) -> None:
        self.streaks[provider] = 0

    def failure(self, provider: str, process: Process) -> int:
        self.process_of[provider] = process
        self.streaks[provider] = self.streaks.get(provider, 0) + 1
        return self.streaks[provider]

    def worst(self, process: Process) -> tuple[str, int] | None:
        mine = [(n, c) for n, c in self.streaks.items() if self.process_of.get(n) == process]
        return max(mine, key=lambda item: item[1]) if mine else None

    def reset(self, process: Process) -> None:
        for name, owner in self.process_of.items():
            if owner == process:
                self.streaks[name] = 0


@dataclass
class WorkerContext:
    api: Backend
    worker_id: str
    finder: BusinessFinder
    builder: SiteBuilder
    deployer: Deployer
    options: WorkerOptions = field(default_factory=WorkerOptions)
    health: ProviderHealth = field(default_factory=ProviderHealth)
    #: The contact step (worker/contacts.py); the demo's chain unless the command sets one.
    contacts: ContactChain = field(
        default_factory=lambda: ContactChain([SourceEmail(), DemoContactFinder()])
    )

    async def log(
        self,
        process: LogProcess,
        level: LogLevel,
        message: str,
        *,
        run_id: int | None = None,
        business_id: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        log.log(_LEVELS.get(level, logging.ERROR), "[%s] %s", process, message)
        meta = {"worker_id": self.worker_id, **(metadata or {})}
        try:
            await log_automation_event(self.api, process, level, message, run_id, business_id, meta)
        except BackendError as exc:
            log.error("could not write the log line above to automation_logs: %s", exc)
