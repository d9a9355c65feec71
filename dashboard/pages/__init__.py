"""One module per `/admin` route; importing this package registers them all."""

from dashboard.pages import (
    audit,
    business_detail,
    businesses,
    config,
    logs,
    overview,
    reconcile,
    runs,
    system,
)

__all__ = [
    "audit",
    "business_detail",
    "businesses",
    "config",
    "logs",
    "overview",
    "reconcile",
    "runs",
    "system",
]
