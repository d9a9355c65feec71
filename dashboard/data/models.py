"""Typed rows returned by the RPC functions (pydantic; unknown keys are ignored).

Field names are the SQL column names, so a row from PostgreSQL (psycopg) and the
same row as JSON from PostgREST (supabase-py) validate to the same model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

PipelineStatus = Literal["queued", "started", "deployed", "failed", "skipped"]
TargetStatus = Literal["pending", "in_progress", "done", "skipped"]
Process = Literal["identification", "implementation"]
LogProcess = Literal["identification", "implementation", "outreach", "payments", "system"]
LogLevel = Literal["debug", "info", "warning", "error"]
WorkerState = Literal["idle", "running", "paused", "stopping", "error", "offline"]
DesiredState = Literal["running", "paused", "stopped"]
Command = Literal["start", "stop", "pause", "resume", "run_once", "reset_stale"]
CommandStatus = Literal["pending", "processing", "completed", "failed", "expired"]
RunStatus = Literal["running", "succeeded", "failed", "cancelled"]
RunTrigger = Literal["schedule", "command", "startup", "manual"]
SiteStatus = Literal["deployed", "active", "suspended"]
OutreachStatus = Literal[
    "pending", "starting", "started", "replied", "bounced", "unsubscribed", "stopped",
    "failed", "skipped",
]  # fmt: skip
#: Outreach states that mean an email was sent (the denominator of the bounce rate).
CONTACTED: tuple[OutreachStatus, ...] = ("started", "replied", "bounced", "unsubscribed", "stopped")
SearchStatus = Literal[
    "queued", "started", "deployed", "failed", "skipped", "claimed", "unclaimed", "review"
]
Bucket = Literal["minute", "hour", "day"]


class Row(BaseModel):
    """Base of every row model: extra columns are ignored, so adding one breaks nothing."""

    model_config = ConfigDict(extra="ignore")


class PipelineBusiness(Row):
    id: int
    place_id: str
    name: str
    category: str
    city: str
    region: str
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    email_source: str | None = None
    email_missing_reason: str | None = None
    rating: float | None = None
    review_count: int | None = None
    target_id: int | None = None
    status: PipelineStatus
    priority: int = 0
    attempts: int = 0
    last_error: str | None = None
    claimed_by: str | None = None
    claim_token: UUID | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class QualifiedBusiness(Row):
    id: int
    uuid: str
    pipeline_business_id: int
    place_id: str
    name: str
    category: str
    city: str
    region: str
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    preview_url: str
    site_status: SiteStatus
    deployed_at: datetime
    activated_at: datetime | None = None
    activation_error: str | None = None
    outreach_status: OutreachStatus
    outreach_campaign_id: str | None = None
    outreach_lead_id: str | None = None
    outreach_started_at: datetime | None = None
    outreach_last_event_at: datetime | None = None
    outreach_error: str | None = None
    outreach_attempts: int = 0
    claimed: bool
    claimed_at: datetime | None = None
    stripe_payment_id: str | None = None
    stripe_customer_id: str | None = None
    customer_email: str | None = None
    review_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class IdentificationTarget(Row):
    id: int
    position: int
    city: str
    region: str
    category: str
    status: TargetStatus
    businesses_found: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None


class IdentificationProgress(Row):
    """The one row of `v_identification_progress`."""

    total: int = 0
    done: int = 0
    in_progress: int = 0
    pending: int = 0
    skipped: int = 0
    current_position: int | None = None
    current_target_id: int | None = None
    current_city: str | None = None
    current_region: str | None = None
    current_category: str | None = None
    percent_complete: float = 0.0
    businesses_found: int = 0


class AutomationConfig(Row):
    identification_enabled: bool
    implementation_enabled: bool
    outreach_enabled: bool
    batch_size: int
    max_attempts: int
    stale_after_minutes: int
    daily_deploy_limit: int
    heartbeat_stale_seconds: int
    outreach_sweep_minutes: int
    bounce_rate_limit: float
    provider_failure_limit: int
    pace_seconds: float
    updated_at: datetime
    updated_by: str | None = None


class WorkerInfo(Row):
    state: WorkerState
    heartbeat_at: datetime
    business_id: int | None = None


class AutomationStatus(Row):
    """A row of the `automation_status` table (what `report_automation_heartbeat` returns)."""

    process: Process
    state: WorkerState
    desired_state: DesiredState
    worker_id: str | None = None
    workers: dict[str, WorkerInfo] = Field(default_factory=dict)
    current_business_id: int | None = None
    current_target_id: int | None = None
    last_heartbeat_at: datetime | None = None
    started_at: datetime | None = None
    processed_count: int = 0
    error_count: int = 0
    message: str | None = None
    paused_reason: str | None = None
    updated_at: datetime


class ProcessStatus(AutomationStatus):
    """A row of `get_automation_status()`: the table row plus heartbeat age and staleness."""

    worker_count: int = 0
    heartbeat_age_seconds: float | None = None
    is_stale: bool


class AutomationCommand(Row):
    id: int
    process: Process
    command: Command
    payload: dict[str, Any] = Field(default_factory=dict)
    status: CommandStatus
    requested_by: str | None = None
    created_at: datetime
    expires_at: datetime
    picked_at: datetime | None = None
    picked_by: str | None = None
    completed_at: datetime | None = None
    result: Any = None


class AutomationRun(Row):
    id: int
    process: Process
    trigger: RunTrigger
    command_id: int | None = None
    worker_id: str | None = None
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    items_processed: int = 0
    items_failed: int = 0
    error: str | None = None


class AutomationLog(Row):
    id: int
    created_at: datetime
    process: LogProcess
    level: LogLevel
    message: str
    run_id: int | None = None
    business_id: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class StatusCounts(Row):
    queued: int = 0
    started: int = 0
    deployed: int = 0
    failed: int = 0
    skipped: int = 0


class Throughput(Row):
    identified: int = 0
    deployed: int = 0
    failed: int = 0
    claimed: int | None = 0  # None for callers who may not read qualified_businesses


class ThroughputWindows(Row):
    last_hour: Throughput = Field(default_factory=Throughput)
    last_day: Throughput = Field(default_factory=Throughput)


class QueueStatistics(Row):
    counts: StatusCounts
    total: int
    #: statuses whose count is a planner estimate (above `exact_up_to`); show them with "≈"
    approximate: list[str] = Field(default_factory=list)
    exact_up_to: int | None = None
    stale_started: int = 0
    oldest_queued_at: datetime | None = None
    oldest_queued_age_seconds: float | None = None
    throughput: ThroughputWindows = Field(default_factory=ThroughputWindows)


class DashboardSnapshot(Row):
    queue: QueueStatistics
    identification: IdentificationProgress
    status: list[ProcessStatus]
    config: AutomationConfig
    runs: list[AutomationRun]
    recent_logs: list[AutomationLog]
    generated_at: datetime


class ThroughputPoint(Row):
    bucket: datetime
    identified: int
    deployed: int
    claimed: int


class FunnelRow(Row):
    """Conversion per target; the overall row has `target_id` None."""

    target_id: int | None = None
    city: str | None = None
    region: str | None = None
    category: str | None = None
    identified: int
    deployed: int
    outreach_started: int
    replied: int
    claimed: int


class BusinessSearchRow(Row):
    id: int
    uuid: str | None = None
    place_id: str
    name: str
    category: str
    city: str
    region: str
    status: PipelineStatus
    site_status: SiteStatus | None = None
    outreach_status: OutreachStatus | None = None
    claimed: bool | None = None
    preview_url: str | None = None
    attempts: int
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime


class MatchCount(BaseModel):
    """How many rows a table's filters match: exact up to `EXACT_MATCHES`; above that
    `estimated` is true and `count` is the planner's figure (at least EXACT_MATCHES + 1)."""

    count: int
    estimated: bool = False


#: a match count is exact up to this many rows (search_businesses counts at most one more)
EXACT_MATCHES = 10_000


class CountedRows(BaseModel):
    """A page of rows, plus how many rows match in all when the read counted them."""

    rows: list[dict[str, Any]]
    total: MatchCount | None = None


class BusinessSearchPage(BaseModel):
    """A page of `search_businesses`, and on the first page how many businesses match."""

    rows: list[BusinessSearchRow]
    total: MatchCount | None = None


class StripeEventReceipt(Row):
    """What `record_stripe_event` says: whether this delivery is the first, and the state."""

    is_new: bool
    status: str
    attempts: int


class OutreachEventReceipt(Row):
    is_new: bool
    event_id: int
