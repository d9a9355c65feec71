"""What the schema promises: the names of docs/rpc.md and SYSTEM.md section 2, and the
statements of `supabase/migrations/`, so a fix can quote the exact SQL that built an
object. A new index in a migration is expected by the doctor without any change here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dashboard.backends.migrate import MIGRATIONS_DIR, checksum, migration_files

TABLES = (
    "pipeline_businesses", "qualified_businesses", "identification_targets",
    "automation_config", "automation_status", "automation_commands", "automation_runs",
    "automation_logs", "stripe_events", "stripe_idempotency", "outreach_events",
    "admin_audit_log",
)  # fmt: skip
#: authenticated may read these (with aal2); the rest have no policy at all
READABLE = (
    "automation_config", "automation_status", "automation_commands", "automation_runs",
    "automation_logs", "identification_targets", "pipeline_businesses",
)  # fmt: skip
#: the `app_metadata` flag a reader of READABLE must carry (besides aal2)
ADMIN_FLAG = "cliftonsites_admin"
#: the tables the dashboard's live feed watches (Realtime / the local NOTIFY stand-in)
WATCHED = tuple(t for t in TABLES if t != "stripe_idempotency")
FUNCTIONS = (
    "get_queue_statistics", "get_current_identification_target", "get_automation_status",
    "claim_next_business", "send_automation_command", "update_automation_config",
    "advance_identification_position", "mark_business_deployed",
    "reset_stale_started_businesses", "get_existing_businesses_for_target",
    "mark_business_failed", "claim_next_command", "complete_automation_command",
    "report_automation_heartbeat", "start_automation_run", "finish_automation_run",
    "log_automation_event", "get_dashboard_snapshot", "get_throughput_timeseries",
    "get_conversion_funnel", "search_businesses", "record_stripe_event",
    "mark_business_claimed", "record_outreach_event", "set_outreach_status",
)  # fmt: skip
#: functions 1-3: the only ones `authenticated` may execute
AUTHENTICATED_FUNCTIONS = FUNCTIONS[:3]
TRIGGERS = {
    "outreach_on_deployed": "qualified_businesses",
    "pipeline_businesses_set_updated_at": "pipeline_businesses",
    "qualified_businesses_set_updated_at": "qualified_businesses",
    "automation_config_set_updated_at": "automation_config",
    "automation_commands_notify": "automation_commands",
}
VIEWS = ("v_queue_status", "v_identification_progress")
LOCAL_NOTIFY_TRIGGERS = ("cs_realtime_insert", "cs_realtime_update", "cs_realtime_delete")

_INDEX_OR_DROP = re.compile(
    r"create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?"
    r"(?P<name>\w+)\s+on\s+(?:only\s+)?(?P<schema>\w+)\.(?P<table>\w+)[^;]*;"
    r"|drop\s+index\s+(?:concurrently\s+)?(?:if\s+exists\s+)?(?:\w+\.)?(?P<dropped>\w+)",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class DeclaredIndex:
    schema: str
    table: str
    name: str
    statement: str
    file: str


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    file: str
    sha256: str = ""  # of the file as it is in this checkout


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [
        Migration(v, n, p.name, checksum(p.read_text())) for v, n, p in migration_files(directory)
    ]


@cache
def declared_indexes(directory: Path = MIGRATIONS_DIR) -> dict[str, DeclaredIndex]:
    """Every index the migrations leave in place, by name: their `create index` and
    `drop index` statements applied in order (a later migration may drop an index and
    create it again under the same name)."""
    out: dict[str, DeclaredIndex] = {}
    for _, _, path in migration_files(directory):
        text = _COMMENT.sub("", path.read_text())
        for match in _INDEX_OR_DROP.finditer(text):
            if match.group("dropped"):
                out.pop(match.group("dropped"), None)
                continue
            name, schema, table = match.group("name"), match.group("schema"), match.group("table")
            statement = " ".join(match.group(0).split())
            out[name] = DeclaredIndex(schema, table, name, statement, path.name)
    return out


def file_defining(pattern: str, directory: Path = MIGRATIONS_DIR) -> str | None:
    """The migration file whose text matches `pattern` (e.g. the one creating a trigger)."""
    regex = re.compile(pattern, re.IGNORECASE)
    found = None
    for _, _, path in migration_files(directory):
        if regex.search(path.read_text()):
            found = path.name
    return found
