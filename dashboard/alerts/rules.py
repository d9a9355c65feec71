"""The six alert rules: what each one watches, its defaults, and how an edit is checked.

Every rule has a threshold (its meaning depends on the kind, see `SPECS`), a window,
how long the condition must hold before it fires (`for_minutes`), a cooldown (how
long it must stay clear before it resolves, so a flapping condition sends one pair of
messages, not one per flap), a reminder interval, its channels and an optional mute.
The defaults work with no set-up: `ensure_default_rules` inserts any that are missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Kind = Literal[
    "worker_silent",
    "process_not_running",
    "queue_oldest",
    "failure_spike",
    "webhooks_silent",
    "bounce_rate",
]
Channel = Literal["email", "webhook"]
ALL_CHANNELS: tuple[Channel, ...] = ("email", "webhook")
KINDS: tuple[Kind, ...] = (
    "worker_silent",
    "process_not_running",
    "queue_oldest",
    "failure_spike",
    "webhooks_silent",
    "bounce_rate",
)


@dataclass(frozen=True)
class RuleSpec:
    title: str
    threshold: str  # what the threshold means, with its unit
    uses_window: bool
    defaults: dict[str, Any]


SPECS: dict[Kind, RuleSpec] = {
    "worker_silent": RuleSpec(
        "A worker is silent",
        "seconds without a heartbeat (0 = heartbeat_stale_seconds from the config)",
        False,
        {"threshold": 0, "for_minutes": 0, "reminder_minutes": 60},
    ),
    "process_not_running": RuleSpec(
        "A process is paused, stopped or disabled",
        "not used: the condition must last for_minutes",
        False,
        {"threshold": 0, "for_minutes": 30, "reminder_minutes": 240},
    ),
    "queue_oldest": RuleSpec(
        "The oldest queued business waits too long",
        "hours the oldest queued business has waited",
        False,
        {"threshold": 24, "for_minutes": 0, "reminder_minutes": 240},
    ),
    "failure_spike": RuleSpec(
        "Failures spike",
        "errors logged within the window",
        True,
        {"threshold": 20, "window_minutes": 15, "for_minutes": 0, "reminder_minutes": 60},
    ),
    "webhooks_silent": RuleSpec(
        "Stripe or Smartlead webhooks are silent while outreach runs",
        "hours since the provider's last webhook (providers with an API key only)",
        False,
        {"threshold": 24, "for_minutes": 0, "reminder_minutes": 240},
    ),
    "bounce_rate": RuleSpec(
        "Outreach bounce rate is high",
        "bounce rate, 0 to 1, over businesses contacted in the window (20 at least)",
        True,
        {"threshold": 0.1, "window_minutes": 10080, "for_minutes": 0, "reminder_minutes": 1440},
    ),
}


class AlertRule(BaseModel):
    """A row of `admin_private.alert_rules`."""

    model_config = ConfigDict(extra="ignore")

    kind: Kind
    enabled: bool = True
    threshold: float
    window_minutes: int = 15
    for_minutes: int = 0
    cooldown_minutes: int = 1
    reminder_minutes: int = 60
    channels: list[Channel] = Field(default_factory=lambda: list(ALL_CHANNELS))
    email_to: list[str] = Field(default_factory=list)
    muted_until: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and self.muted_until > now


class RuleEdit(BaseModel):
    """What the alerts page may change; every field is checked, nothing else is accepted."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool
    threshold: float = Field(ge=0, le=1_000_000)
    window_minutes: int = Field(ge=1, le=10080)
    for_minutes: int = Field(ge=0, le=10080)
    cooldown_minutes: int = Field(ge=0, le=10080)
    reminder_minutes: int = Field(ge=1, le=10080)
    channels: list[Channel]
    email_to: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("email_to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            local, at, domain = address.partition("@")
            if not (local and at and "." in domain) or any(c.isspace() for c in address):
                raise ValueError(f"{address!r} is not an email address")
        return value


class RuleEditError(ValueError):
    """Bad input on the alerts page: one message per field, nothing saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def check_edit(kind: Kind, values: dict[str, Any]) -> RuleEdit:
    """`values` as a valid edit of rule `kind`, or `RuleEditError` naming each bad field."""
    try:
        edit = RuleEdit.model_validate(values)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "rule"
            errors.setdefault(field, str(error["msg"]).removeprefix("Value error, "))
        raise RuleEditError(errors) from None
    if kind == "bounce_rate" and edit.threshold > 1:
        raise RuleEditError({"threshold": "a bounce rate is between 0 and 1 (0.1 = 10%)"})
    return edit


def default_rule(kind: Kind) -> AlertRule:
    return AlertRule.model_validate({"kind": kind, **SPECS[kind].defaults})
