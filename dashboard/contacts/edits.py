"""Owner emails by hand and by CSV: validate, plan, write all or nothing, start outreach.

- `set_email_by_hand`: the business page's "Owner email" field.
- `plan_import(db, text)`: reads a CSV with an `email` column and a `place_id` or `uuid`
  column, and says for every line what would change, or the error that names it.
  `apply_import` writes the plan only when no line has an error, in one transaction
  (`data/contacts.write_owner_emails`), so an import is never half-written.

Each written change is audited with before and after, and logged on the business's
timeline; outreach that was skipped for want of an email starts at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from dashboard.backends.base import Backend, Caller
from dashboard.backends.postgres import PostgresBackend
from dashboard.contacts.email_check import InvalidEmail, check_email
from dashboard.data.automation import log_automation_event
from dashboard.data.contacts import (
    EmailChange,
    KnownBusiness,
    resolve_businesses,
    write_owner_emails,
)
from dashboard.outreach.base import OutreachProvider
from dashboard.outreach.campaign import StartResult, start_campaign

MAX_IMPORT_BYTES = 2_000_000
MAX_IMPORT_LINES = 10_000
Action = Literal["set", "unchanged", "error"]


class ImportRefused(ValueError):
    """The file as a whole cannot be read (no header, too big, ...): nothing was written."""


@dataclass(frozen=True)
class PlannedLine:
    line: int
    key: str
    action: Action
    message: str
    business_id: int | None = None
    before: str | None = None
    after: str | None = None


@dataclass
class ImportPlan:
    lines: list[PlannedLine] = field(default_factory=list)

    @property
    def errors(self) -> list[PlannedLine]:
        return [p for p in self.lines if p.action == "error"]

    @property
    def changes(self) -> list[PlannedLine]:
        return [p for p in self.lines if p.action == "set"]

    def report(self) -> list[str]:
        return [f"line {p.line}: {p.key}: {p.message}" for p in self.lines]


@dataclass(frozen=True)
class Written:
    changed: int
    started: list[StartResult]


@dataclass(frozen=True)
class _Row:
    line: int
    place_id: str
    uuid: str
    email: str


def read_rows(text: str) -> list[_Row]:
    if len(text.encode()) > MAX_IMPORT_BYTES:
        raise ImportRefused(f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in header or not ({"place_id", "uuid"} & set(header)):
        raise ImportRefused(
            "line 1 must be a header with an email column and a place_id or uuid column"
        )
    rows: list[_Row] = []
    for record in reader:
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in record.items()
                  if isinstance(v, str)}  # fmt: skip
        if not any(values.values()):
            continue
        rows.append(_Row(reader.line_num, values.get("place_id", ""), values.get("uuid", ""),
                         values.get("email", "")))  # fmt: skip
        if len(rows) > MAX_IMPORT_LINES:
            raise ImportRefused(f"the file has more than {MAX_IMPORT_LINES:,} lines")
    return rows


async def plan_import(db: PostgresBackend, text: str) -> ImportPlan:
    rows = read_rows(text)
    known = await resolve_businesses(
        db, [r.place_id for r in rows if r.place_id], [r.uuid for r in rows if r.uuid]
    )
    by_place = {k.place_id: k for k in known}
    by_uuid = {k.uuid: k for k in known if k.uuid}
    plan, seen = ImportPlan(), set[int]()
    for row in rows:
        plan.lines.append(_plan_line(row, by_place, by_uuid, seen))
    return plan


def _plan_line(
    row: _Row, by_place: dict[str, KnownBusiness], by_uuid: dict[str, KnownBusiness], seen: set[int]
) -> PlannedLine:
    key = row.uuid or row.place_id or "(no key)"
    if not (row.uuid or row.place_id):
        return PlannedLine(row.line, key, "error", "give a place_id or a uuid")
    business = by_uuid.get(row.uuid) if row.uuid else by_place.get(row.place_id)
    if business is None:
        kind = "uuid" if row.uuid else "place_id"
        return PlannedLine(row.line, key, "error", f"no business has {kind} {key!r}")
    if row.uuid and row.place_id and business.place_id != row.place_id:
        return PlannedLine(row.line, key, "error", "place_id and uuid name different businesses")
    if business.id in seen:
        return PlannedLine(row.line, key, "error", "this business is on an earlier line too")
    seen.add(business.id)
    try:
        email = check_email(row.email).address
    except InvalidEmail as exc:
        return PlannedLine(row.line, key, "error", str(exc), business.id)
    if email == business.email:
        return PlannedLine(
            row.line, key, "unchanged", f"already {email}", business.id, email, email
        )
    before = business.email or "no email"
    return PlannedLine(
        row.line, key, "set", f"{before} -> {email}", business.id, business.email, email
    )


async def apply_import(
    db: PostgresBackend, api: Backend, provider: OutreachProvider, caller: Caller, plan: ImportPlan
) -> Written:
    if plan.errors:
        raise ImportRefused(f"{len(plan.errors)} line(s) have errors: nothing was written")
    changes = [EmailChange(p.business_id, p.after) for p in plan.changes
               if p.business_id is not None and p.after is not None]  # fmt: skip
    return await _write(db, api, provider, caller, changes, source="import", how="imported")


async def set_email_by_hand(
    db: PostgresBackend, api: Backend, provider: OutreachProvider, caller: Caller,
    business_id: int, raw: str,
) -> Written:  # fmt: skip
    """Validate and write one owner email (InvalidEmail says why not)."""
    email = check_email(raw).address
    change = EmailChange(business_id, email)
    return await _write(db, api, provider, caller, [change], source="manual", how="set by hand")


async def _write(
    db: PostgresBackend, api: Backend, provider: OutreachProvider, caller: Caller,
    changes: Sequence[EmailChange], *, source: str, how: str,
) -> Written:  # fmt: skip
    if not changes:
        return Written(0, [])
    restart = await write_owner_emails(db, caller, changes, source=source)
    who = caller.email or "an admin"
    for change in changes:
        await log_automation_event(
            api, "outreach", "info", f"owner email {how} by {who}: {change.email}",
            business_id=change.business_id, metadata={"email_source": source},
        )  # fmt: skip
    started = [await start_campaign(api, provider, qid, source=f"owner email {how}")
               for qid in restart]  # fmt: skip
    return Written(len(changes), started)
