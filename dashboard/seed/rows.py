"""Row builders for the demo seed: one `Builder` turns positions into table rows.

Businesses are numbered in order of creation. The newest are still `queued`, a few
just before them are `started` (two of those stale), and the older ones are finished:
deployed, failed or skipped. Deployed ones get a qualified row, outreach events, and
some a payment. Rows are tuples in the column order of the `*_COLUMNS` constants.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dashboard.seed import vocabulary as vocab

Row = tuple[Any, ...]
PIPELINE_COLUMNS = (
    "id", "place_id", "name", "category", "city", "region", "address", "phone", "email",
    "rating", "review_count", "target_id", "status", "priority", "attempts", "last_error",
    "claimed_by", "claim_token", "started_at", "finished_at", "created_at", "updated_at",
)  # fmt: skip
QUALIFIED_COLUMNS = (
    "id", "uuid", "pipeline_business_id", "place_id", "name", "category", "city", "region",
    "address", "phone", "email", "preview_url", "site_status", "deployed_at", "activated_at",
    "activation_error", "outreach_status", "outreach_campaign_id", "outreach_lead_id",
    "outreach_started_at", "outreach_last_event_at", "outreach_error", "outreach_attempts",
    "claimed", "claimed_at", "stripe_payment_id", "stripe_customer_id", "customer_email",
    "review_reason", "created_at", "updated_at",
)  # fmt: skip
OUTREACH_COLUMNS = (
    "provider", "provider_event_id", "qualified_business_id", "event_type", "payload",
    "occurred_at", "received_at",
)  # fmt: skip
STRIPE_COLUMNS = (
    "id", "type", "payload", "created", "received_at", "processed_at", "status", "attempts",
    "qualified_business_id",
)  # fmt: skip
IDEMPOTENCY_COLUMNS = ("key", "event_id", "side_effect", "result", "created_at")
RUN_COLUMNS = (
    "id", "process", "trigger", "worker_id", "status", "started_at", "finished_at",
    "items_processed", "items_failed", "error",
)  # fmt: skip
LOG_COLUMNS = ("created_at", "process", "level", "message", "run_id", "business_id", "metadata")
TARGET_COLUMNS = (
    "id", "position", "city", "region", "category", "status", "started_at", "completed_at",
    "created_at",
)  # fmt: skip
CAMPAIGN_ID = "cmp_demo_1"
WORKERS = ("vm-1:impl-1", "vm-1:impl-2", "vm-2:impl-1")
_SENT_EVENTS = {
    "started": ("EMAIL_SENT",),
    "replied": ("EMAIL_SENT", "EMAIL_OPEN", "EMAIL_REPLY"),
    "bounced": ("EMAIL_SENT", "EMAIL_BOUNCE"),
    "unsubscribed": ("EMAIL_SENT", "EMAIL_OPEN", "LEAD_UNSUBSCRIBED"),
    "stopped": ("EMAIL_SENT", "EMAIL_OPEN"),
}


@dataclass
class Chunk:
    """Rows for one slice of businesses, ready for COPY."""

    pipeline: list[Row] = field(default_factory=list)
    qualified: list[Row] = field(default_factory=list)
    outreach: list[Row] = field(default_factory=list)
    stripe: list[Row] = field(default_factory=list)
    idempotency: list[Row] = field(default_factory=list)
    logs: list[Row] = field(default_factory=list)


@dataclass
class Builder:
    """Deterministic for a given seed: the same names, statuses and uuids every time."""

    rng: random.Random
    now: datetime
    businesses: int
    targets: list[tuple[int, str, str, str]]  # (id, city, region, category), by position
    first_business_id: int
    first_run_id: int
    next_qualified_id: int
    span: timedelta = timedelta(days=28)
    mix: vocab.Mix = field(default_factory=vocab.Mix)
    #: the sites' origin for preview_url ("" keeps it relative, `/sites/<uuid>/`)
    site_base: str = ""
    _uuids: set[str] = field(default_factory=set)

    @property
    def start(self) -> datetime:
        return self.now - self.span

    @property
    def queued_from(self) -> int:
        """Position of the first queued business; the newest ones wait."""
        return self.businesses - round(self.businesses * self.mix.queued)

    @property
    def started_from(self) -> int:
        return max(0, self.queued_from - self.mix.started)

    @property
    def active_targets(self) -> int:
        """Targets that hold businesses: the done ones and the one in progress."""
        return min(len(self.targets), self.done_targets + 1)

    @property
    def done_targets(self) -> int:
        return max(0, min(len(self.targets) - 1, round(len(self.targets) * 0.6)))

    def created_at(self, i: int) -> datetime:
        return vocab.spread(self.start, self.now - timedelta(minutes=2), i / self.businesses)

    def target_of(self, i: int) -> tuple[int, str, str, str]:
        k = min(self.active_targets - 1, i * self.active_targets // self.businesses)
        return self.targets[k]

    def run_id(self, process: str, at: datetime) -> int:
        hour = min(self.hours - 1, max(0, int((at - self.start).total_seconds() // 3600)))
        return self.first_run_id + 2 * hour + (process == "implementation")

    @property
    def hours(self) -> int:
        return int(self.span.total_seconds() // 3600)

    # targets ---------------------------------------------------------------------
    def target_rows(self, first_id: int, cells: list[tuple[str, str, str]]) -> list[Row]:
        rows = []
        per = self.businesses / max(1, self.active_targets)
        for k, (city, region, category) in enumerate(cells):
            status, started, completed = "pending", None, None
            if k < self.active_targets:
                started = self.created_at(min(self.businesses - 1, int(k * per)))
                status = "done" if k < self.done_targets else "in_progress"
            if status == "done":
                completed = self.created_at(min(self.businesses - 1, int((k + 1) * per) - 1))
            row = (first_id + k, k + 1, city, region, category, status, started, completed)
            rows.append((*row, self.start - timedelta(days=1)))
        return rows

    # runs ------------------------------------------------------------------------
    def run_rows(self) -> tuple[list[Row], list[Row]]:
        """One run per hour per process over the span, with their log lines."""
        runs: list[Row] = []
        logs: list[Row] = []
        for hour in range(self.hours):
            for process in ("identification", "implementation"):
                run, run_logs = self._run(hour, process)
                runs.append(run)
                logs.extend(run_logs)
        return runs, logs

    def _run(self, hour: int, process: str) -> tuple[Row, list[Row]]:
        rid = self.first_run_id + 2 * hour + (process == "implementation")
        started = self.start + timedelta(hours=hour, minutes=self.rng.uniform(0, 5))
        finished = started + vocab.minutes(self.rng, 2, 50)
        roll = self.rng.random()
        status = "succeeded" if roll < 0.94 else "failed" if roll < 0.98 else "cancelled"
        error = "worker lost its database connection" if status == "failed" else None
        items = self.rng.randint(0, 40)
        worker = "vm-1:ident-1" if process == "identification" else self.rng.choice(WORKERS)
        run = (rid, process, "schedule", worker, status, started, finished, items, 0, error)
        meta = json.dumps({"worker_id": worker})
        logs = [(started, process, "info", f"{process} run started", rid, None, meta)]
        level = "error" if error else "info"
        text = error or f"{process} run {status}: {items} processed"
        logs.append((finished, process, level, text, rid, None, meta))
        return run, logs

    # businesses ------------------------------------------------------------------
    def chunk(self, lo: int, hi: int) -> Chunk:
        out = Chunk()
        for i in range(lo, hi):
            row = self._pipeline(i)
            out.pipeline.append(row)
            if row[12] == "deployed":
                self._qualified(row, self.next_qualified_id, out)
                self.next_qualified_id += 1
            elif row[12] == "failed":
                text = f"build failed for {row[2]}: {row[15]}"
                rid = self.run_id("implementation", row[19])
                out.logs.append((row[19], "implementation", "error", text, rid, row[0], "{}"))
        return out

    def _pipeline(self, i: int) -> Row:
        rng = self.rng
        bid = self.first_business_id + i
        tid, city, region, category = self.target_of(i)
        created = self.created_at(i) - timedelta(seconds=rng.uniform(0, 90))
        name = vocab.business_name(rng, category)
        rating = round(rng.uniform(3.0, 5.0), 1) if rng.random() < 0.92 else None
        reviews = min(5000, int(rng.paretovariate(1.2) * 4)) if rating is not None else None
        contact = (
            vocab.address(rng, city, region),
            vocab.phone(rng, vocab.area_code(city)) if rng.random() < 0.93 else None,
            vocab.email_for(rng, name) if rng.random() < 0.35 else None,
        )
        state = self._state(i, created)
        head = (bid, vocab.place_id(rng, bid), name, category, city, region, *contact)
        return (*head, rating, reviews, tid, *state, created, state[-1] or state[-2] or created)

    def _state(self, i: int, created: datetime) -> Row:
        """(status, priority, attempts, last_error, claimed_by, token, started, finished)."""
        rng = self.rng
        if i >= self.queued_from:
            priority = 10 if rng.random() < 0.08 else 0
            retried = rng.random() < 0.05
            error = rng.choice(vocab.FAILURES) if retried else None
            return ("queued", priority, int(retried), error, None, None, None, None)
        if i >= self.started_from:
            stale = i - self.started_from < 2
            ago = timedelta(hours=rng.uniform(2, 3)) if stale else vocab.minutes(rng, 0.5, 6)
            started = max(created, self.now - ago)
            token = uuid.UUID(int=rng.getrandbits(128), version=4)
            return ("started", 0, 1, None, rng.choice(WORKERS), token, started, None)
        finished = min(created + vocab.minutes(rng, 10, 2880), self.now - timedelta(minutes=1))
        if i >= self.started_from - self.mix.recent:
            finished = self.now - vocab.minutes(rng, 1, 10)
        started = finished - vocab.minutes(rng, 0.5, 4)
        worker = rng.choice(WORKERS)
        roll = 0.0 if i >= self.started_from - self.mix.recent else rng.random()
        if roll < self.mix.deployed:
            attempts = 2 if rng.random() < 0.1 else 1
            return ("deployed", 0, attempts, None, worker, None, started, finished)
        if roll < self.mix.deployed + self.mix.failed:
            error = rng.choice(vocab.FAILURES)
            return ("failed", 0, 3, error, worker, None, started, finished)
        return ("skipped", 0, 1, rng.choice(vocab.SKIPS), worker, None, started, finished)

    def _qualified(self, p: Row, qid: int, out: Chunk) -> None:
        rng = self.rng
        code = vocab.short_uuid(rng, self._uuids)
        deployed_at: datetime = p[19]
        claimed = rng.random() < self.mix.claimed
        if claimed:
            outreach = "stopped" if rng.random() < 0.7 else "replied"
        elif self.now - deployed_at < timedelta(hours=1):
            outreach = "pending"
        else:
            outreach = vocab.pick_outreach(rng, self.mix)
        events = self._outreach(qid, code, outreach, deployed_at, out)
        last_event = events[-1] if events else None
        sent = events[0] if events else None
        attempts = 0 if outreach in ("pending", "skipped") else rng.randint(1, 3)
        o_error = rng.choice(vocab.OUTREACH_FAILURES) if outreach == "failed" else None
        campaign = None if outreach in ("pending", "skipped", "failed") else CAMPAIGN_ID
        pay = self._payment(qid, code, p, deployed_at, out) if claimed else (None,) * 7
        review = "phone number could not be verified" if rng.random() < 0.01 else None
        status = pay[0] or ("suspended" if rng.random() < 0.01 else "deployed")
        out.qualified.append((
            qid, code, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8],
            f"{self.site_base}/sites/{code}/", status, deployed_at, pay[1], pay[2], outreach,
            campaign, f"lead_{qid}" if campaign else None, sent, last_event, o_error, attempts,
            claimed, pay[3], pay[4], pay[5], pay[6], review, deployed_at,
            max(x for x in (deployed_at, last_event, pay[3]) if x is not None),
        ))  # fmt: skip

    def _outreach(
        self, qid: int, code: str, status: str, deployed_at: datetime, out: Chunk
    ) -> list[datetime]:
        """Provider events for one business; returns their times, oldest first."""
        times: list[datetime] = []
        at = deployed_at + vocab.minutes(self.rng, 1, 30)
        for k, event in enumerate(_SENT_EVENTS.get(status, ())):
            at = min(at + vocab.minutes(self.rng, 5, 2880), self.now)
            payload = json.dumps({"event_type": event, "lead_id": f"lead_{qid}", "uuid": code})
            out.outreach.append(("smartlead", f"sl_{qid}_{k}", qid, event, payload, at, at))
            times.append(at)
        return times

    def _payment(self, qid: int, code: str, p: Row, deployed_at: datetime, out: Chunk) -> Row:
        """A processed checkout for a claimed business: (site_status, activated_at,
        activation_error, claimed_at, payment_id, customer_id, customer_email)."""
        rng = self.rng
        claimed_at = min(deployed_at + vocab.minutes(rng, 60, 14400), self.now)
        payment, customer = f"pi_{rng.getrandbits(96):024x}", f"cus_{rng.getrandbits(56):014x}"
        email = p[8] or vocab.email_for(rng, p[2])
        event_id = f"evt_{rng.getrandbits(96):024x}"
        session: dict[str, Any] = {"client_reference_id": code, "payment_intent": payment}
        session |= {"customer": customer, "customer_details": {"email": email}}
        body = {"id": event_id, "type": "checkout.session.completed", "data": {"object": session}}
        received = claimed_at - timedelta(seconds=2)
        out.stripe.append((
            event_id, "checkout.session.completed", json.dumps(body), received, received,
            claimed_at, "processed", 1, qid,
        ))  # fmt: skip
        result = json.dumps({"qualified_business_id": qid, "uuid": code})
        out.idempotency.append((f"claim:{code}", event_id, "claim", result, claimed_at))
        out.logs.append((claimed_at, "payments", "info", f"{code} claimed by {email}", None,
                         p[0], json.dumps({"event_id": event_id})))  # fmt: skip
        if rng.random() < 0.07:
            failure = rng.choice(vocab.ACTIVATION_FAILURES)
            out.logs.append((claimed_at, "payments", "error", f"{code}: {failure}", None, p[0],
                             "{}"))  # fmt: skip
            return ("deployed", None, failure, claimed_at, payment, customer, email)
        activated = claimed_at + timedelta(seconds=5)
        return ("active", activated, None, claimed_at, payment, customer, email)
