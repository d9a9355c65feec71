"""The local outbox provider, the demo default: it writes the email it would send.

Nothing leaves the machine. The campaign service records each "sent" email as an
`automation_logs` line (process `outreach`, metadata with recipient, subject, body and
preview link), which the dashboard's logs page shows; the outbox also keeps a copy as
a text file under `DATA_DIR/outbox/` for anyone who wants to read the whole message.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dashboard.outreach.base import Lead, LeadReceipt

CAMPAIGN_ID = "local-outbox"


def render_email(lead: Lead) -> tuple[str, str]:
    """Subject and body of the first email of the sequence."""
    subject = f"{lead.name}: we built you a website"
    body = (
        f"Hello {lead.name},\n\n"
        f"we noticed that your {lead.category} business in {lead.city} has no website,\n"
        f"so we built one for you. Have a look: {lead.site_url}\n\n"
        f"If you like it, it is yours: claim it here: {lead.claim_url}\n\n"
        "CliftonSites\n"
    )
    return subject, body


class OutboxProvider:
    """Records emails instead of sending them; stopping a lead is a no-op that succeeds."""

    name = "outbox"

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    async def add_lead(self, lead: Lead) -> LeadReceipt:
        subject, body = render_email(lead)
        message = {"to": lead.email, "subject": subject, "body": body,
                   "site_url": lead.site_url, "claim_url": lead.claim_url}  # fmt: skip
        if self.folder is not None:
            await asyncio.to_thread(self._write, lead.uuid, message)
        return LeadReceipt(campaign_id=CAMPAIGN_ID, lead_id=f"outbox-{lead.uuid}", details=message)

    async def stop_lead(
        self, *, campaign_id: str | None, lead_id: str | None, email: str | None
    ) -> dict[str, Any]:
        return {"ok": True, "stopped": lead_id}

    def _write(self, uuid: str, message: dict[str, str]) -> None:
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        text = (
            f"To: {message['to']}\nSubject: {message['subject']}\n"
            f"X-Site-URL: {message['site_url']}\nX-Claim-URL: {message['claim_url']}\n\n"
            f"{message['body']}"
        )
        (self.folder / f"{uuid}.txt").write_text(text)
