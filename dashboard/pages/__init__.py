"""One module per `/admin` route; importing this package registers them all."""

from dashboard.pages import audit, businesses, config, logs, overview, runs, system

__all__ = ["audit", "businesses", "config", "logs", "overview", "runs", "system"]
