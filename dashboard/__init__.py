"""CliftonSites admin: database access, realtime dashboard, webhooks and the automation worker."""

__version__ = "0.1.0"
