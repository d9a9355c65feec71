"""The doctor's check on the outreach path: enabled in config, no backlog, and on
Supabase pg_net and the trigger's settings."""

from __future__ import annotations

from dashboard.ops.catalog import Catalog
from dashboard.ops.finding import Finding


def check_outreach(cat: Catalog) -> tuple[list[Finding], str]:
    out = _supabase_outreach(cat) if cat.is_supabase else []
    if cat.outreach_enabled is False:
        out.append(
            Finding(
                "outreach",
                "automation_config.outreach_enabled",
                "warn",
                "outreach is disabled in config",
                "deployed businesses stay `pending` and no campaign starts",
                "select public.update_automation_config("
                """'{"outreach_enabled": true}', 'doctor');""",
            )
        )
    if cat.outreach_backlog:
        out.append(
            Finding(
                "outreach",
                "qualified_businesses",
                "warn",
                f"{cat.outreach_backlog:,} deployed businesses have waited more than"
                " 15 minutes for outreach",
                "the trigger's request or NOTIFY was lost and the app's sweeper is"
                " not running (or outreach is disabled)",
                "-- start the app (cliftonsites serve) so its sweeper starts them;"
                " check its logs for outreach errors",
            )
        )
    path = "pg_net POST" if cat.is_supabase else "NOTIFY outreach_start to the app's listener"
    return out, f"outreach trigger path: {path}"


def _supabase_outreach(cat: Catalog) -> list[Finding]:
    out = []
    if "pg_net" not in cat.extensions:
        out.append(
            Finding(
                "outreach",
                "pg_net",
                "fail",
                "pg_net is not installed",
                "on Supabase outreach_on_deployed posts to the app through pg_net;"
                " without it, it only NOTIFYs, which nothing on Supabase hears",
                "create extension if not exists pg_net with schema extensions;",
            )
        )
    for name, example in (
        ("app.settings.outreach_trigger_url", "https://<your app>/api/outreach/start-campaign"),
        ("app.settings.outreach_trigger_secret", "<OUTREACH_TRIGGER_SECRET>"),
    ):
        if name not in cat.settings:
            out.append(
                Finding(
                    "outreach",
                    name,
                    "fail",
                    f"database setting {name} is not set",
                    "outreach_on_deployed does not know where (or how) to call the app",
                    f"alter database postgres set {name} = '{example}';",
                )
            )
    return out
