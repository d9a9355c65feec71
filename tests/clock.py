"""The one fake clock (the clock is outside world): it stands still until a test
moves it. It starts on a TOTP step boundary unless given a start."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class FakeClock:
    """A clock the tests move by hand: `advance(30)`, `advance(minutes=5)`."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        self.now += timedelta(seconds=seconds, **delta)
