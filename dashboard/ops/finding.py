"""One doctor finding: what is wrong, why it matters, and the SQL that fixes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["fail", "warn"]


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    severity: Severity
    problem: str
    why: str
    fix: str
