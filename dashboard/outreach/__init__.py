"""Outreach: the provider port, Smartlead and the local outbox, starting and stopping
campaigns, Smartlead webhooks, and the background listener and sweeper.

`get_provider(runtime)` is the one place that decides which provider runs: Smartlead
when SMARTLEAD_API_KEY and SMARTLEAD_CAMPAIGN_ID are set, else the local outbox.
Tests put their own provider in `runtime.services["outreach_provider"]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard.outreach.base import OutreachProvider

if TYPE_CHECKING:
    from dashboard.runtime import Runtime
    from dashboard.settings import Settings

SERVICE_KEY = "outreach_provider"


def provider_from_settings(settings: Settings) -> OutreachProvider:
    if settings.smartlead_api_key and settings.smartlead_campaign_id:
        from dashboard.outreach.smartlead import SmartleadProvider

        return SmartleadProvider(settings.smartlead_api_key, settings.smartlead_campaign_id)
    from dashboard.outreach.outbox import OutboxProvider

    return OutboxProvider(settings.data_dir / "outbox")


def get_provider(runtime: Runtime) -> OutreachProvider:
    provider = runtime.services.get(SERVICE_KEY)
    if provider is None:
        provider = provider_from_settings(runtime.settings)
        runtime.services[SERVICE_KEY] = provider
    assert isinstance(provider, OutreachProvider)
    return provider
