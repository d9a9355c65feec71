"""`/claim/{uuid}`: where the site's "Claim this site" button leads (on the sites origin).

- `GET /claim/{uuid}`: the business, the price and a "Continue to payment" button; an
  unknown uuid (404), a suspended site (410) and an already claimed site (200, "already
  claimed", no button) each get their own page.
- `POST /claim/{uuid}/checkout`: with STRIPE_API_KEY, a Stripe Checkout Session
  (`payments/claim_checkout.py`) and a 303 to it; a Stripe error is a 502 page that says
  nothing was charged. Without a key, the demo's test checkout (CLAIM_TEST_CHECKOUT), or
  a page saying online payment is not set up.
- `GET|POST /claim/{uuid}/test-checkout`: the demo's checkout. Its POST sends a signed
  `checkout.session.completed` to our own `/api/stripe-webhook` (through the app itself,
  so it passes every middleware a real delivery does) and goes on to the thanks page.
- `GET /claim/{uuid}/thanks` and `/cancelled`: Stripe's success and cancel pages.

Nothing here marks a business claimed: the webhook is the one place a payment takes
effect. Every page has the sites' CSP; forms post only to this origin, and the one
redirect off it goes to Stripe's Checkout.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dashboard.api.site_host import SITE_CSP, SITE_HEADERS
from dashboard.contacts.email_check import InvalidEmail, check_email
from dashboard.data.models import QualifiedBusiness
from dashboard.outreach.campaign import BusinessNotFound, load_business
from dashboard.payments.claim_checkout import (
    CheckoutUnavailable,
    create_checkout_session,
    test_checkout_event,
)
from dashboard.runtime import get_runtime
from dashboard.settings import Settings
from dashboard.worker.sites import UUID_PATTERN

router = APIRouter(include_in_schema=False)
log = logging.getLogger("dashboard.claim")
_env = Environment(
    loader=PackageLoader("dashboard.api", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
)
_CSS = _env.loader.get_source(_env, "claim.css")[0]  # type: ignore[union-attr]
#: The claim pages may also send the owner on to Stripe's hosted Checkout.
CLAIM_CSP = SITE_CSP.replace("form-action 'self'", "form-action 'self' https://checkout.stripe.com")
MAX_FORM_BYTES = 4096


def page(status: int, title: str, *lines: str, kind: str = "info", **extra: object) -> HTMLResponse:
    values: dict[str, object] = {
        "title": title, "lines": lines, "kind": kind, "price": None, "form_action": None,
        "ask_email": False, "email": None, "button": "", "test_mode": False, "site_url": None,
        "refresh": None,
    }  # fmt: skip
    values.update(extra)
    html = _env.get_template("claim.html.j2").render(**values)
    headers = {**SITE_HEADERS, "Content-Security-Policy": CLAIM_CSP, "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status, headers=headers)


def price_text(settings: Settings) -> str:
    amount = settings.claim_price_cents / 100
    return f"{amount:,.2f} {settings.claim_currency.upper()}"


async def claimable(uuid: str) -> QualifiedBusiness | HTMLResponse:
    """The business when it can be paid for now, else the page that says why not."""
    if not UUID_PATTERN.match(uuid):
        return unknown()
    try:
        business = await load_business(get_runtime().api, uuid=uuid)
    except BusinessNotFound:
        return unknown()
    if business.site_status == "suspended":
        return page(410, "This site is no longer available",
                    "It was taken down, so it cannot be claimed. Write to us if you think"
                    " this is a mistake.", kind="suspended")  # fmt: skip
    if business.claimed:
        return page(200, "This site is already claimed",
                    f"{business.name} already owns this site; nothing more to pay.",
                    kind="claimed", site_url=business.preview_url)  # fmt: skip
    return business


def unknown() -> HTMLResponse:
    return page(404, "No site at this address",
                "Check the link in your email: this claim link does not belong to any site.",
                kind="unknown")  # fmt: skip


@router.get("/claim/static/claim.css")
async def claim_css() -> Response:
    headers = {**SITE_HEADERS, "Cache-Control": "public, max-age=3600"}
    return Response(_CSS, media_type="text/css; charset=utf-8", headers=headers)


@router.get("/claim/{uuid}")
async def claim_page(uuid: str) -> Response:
    found = await claimable(uuid)
    if isinstance(found, HTMLResponse):
        return found
    settings = get_runtime().settings
    return page(200, f"Claim the site of {found.name}",
                "Make this website yours: we switch it live without the preview banner"
                " and keep it running.", kind="offer", price=price_text(settings),
                form_action=f"/claim/{uuid}/checkout", button="Continue to payment",
                site_url=found.preview_url)  # fmt: skip


@router.post("/claim/{uuid}/checkout")
async def start_checkout(uuid: str) -> Response:
    found = await claimable(uuid)
    if isinstance(found, HTMLResponse):
        return found
    settings = get_runtime().settings
    if settings.stripe_api_key:
        try:
            url = await create_checkout_session(settings, found)
        except CheckoutUnavailable as exc:
            log.warning("checkout for %s failed: %r", uuid, exc.__cause__)
            return page(502, "The payment could not start", str(exc),
                        "Nothing was charged. Please try again in a few minutes.",
                        kind="error", site_url=found.preview_url)  # fmt: skip
        return RedirectResponse(url, status_code=303)
    if settings.claim_test_checkout and settings.stripe_webhook_secret:
        return RedirectResponse(f"/claim/{uuid}/test-checkout", status_code=303)
    return page(503, "Online payment is not set up yet",
                "Reply to the email you received and we will send you a payment link.",
                kind="unavailable", site_url=found.preview_url)  # fmt: skip


def _test_checkout_on(settings: Settings) -> bool:
    return bool(
        not settings.stripe_api_key
        and settings.claim_test_checkout
        and settings.stripe_webhook_secret
    )


@router.get("/claim/{uuid}/test-checkout")
async def test_checkout_page(uuid: str, error: str | None = None) -> Response:
    if not _test_checkout_on(get_runtime().settings):
        return unknown()
    found = await claimable(uuid)
    if isinstance(found, HTMLResponse):
        return found
    price = price_text(get_runtime().settings)
    return page(200, "Test checkout", f"Paying for the site of {found.name}.",
                kind="test-checkout", price=price, form_action=f"/claim/{uuid}/test-checkout",
                ask_email=True, email=found.email, button="Pay (test)", test_mode=True)  # fmt: skip


@router.post("/claim/{uuid}/test-checkout")
async def test_checkout_pay(uuid: str, request: Request) -> Response:
    settings = get_runtime().settings
    if not _test_checkout_on(settings):
        return unknown()
    found = await claimable(uuid)
    if isinstance(found, HTMLResponse):
        return found
    body = await request.body()
    form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"))
    try:
        email = check_email((form.get("email") or [""])[0]).address
    except InvalidEmail as exc:
        return page(400, "Test checkout", f"Check your email: {exc}.", kind="error",
                    price=price_text(settings), form_action=f"/claim/{uuid}/test-checkout",
                    ask_email=True, email=None, button="Pay (test)", test_mode=True)  # fmt: skip
    payload, signature = test_checkout_event(settings, found, email)
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://webhook.internal") as client:
        answer = await client.post("/api/stripe-webhook", content=payload, headers={
            "Stripe-Signature": signature, "Content-Type": "application/json"})  # fmt: skip
    if answer.status_code != 200:
        log.warning("test checkout webhook for %s answered %s", uuid, answer.status_code)
        return page(502, "The payment could not be recorded",
                    f"Our payment endpoint answered {answer.status_code}. Nothing was charged.",
                    kind="error")  # fmt: skip
    return RedirectResponse(f"/claim/{uuid}/thanks", status_code=303)


@router.get("/claim/{uuid}/thanks")
async def thanks(uuid: str) -> Response:
    if not UUID_PATTERN.match(uuid):
        return unknown()
    try:
        business = await load_business(get_runtime().api, uuid=uuid)
    except BusinessNotFound:
        return unknown()
    if business.claimed:
        return page(200, "Thank you: the site is yours",
                    f"{business.name} now owns this site. The preview banner is gone.",
                    kind="thanks", site_url=business.preview_url)  # fmt: skip
    return page(200, "Thank you: confirming your payment",
                "Stripe is confirming the payment; this page updates by itself.",
                kind="confirming", refresh=2, site_url=business.preview_url)  # fmt: skip


@router.get("/claim/{uuid}/cancelled")
async def cancelled(uuid: str) -> Response:
    if not UUID_PATTERN.match(uuid):
        return unknown()
    return page(200, "No payment was taken",
                "You left the checkout; nothing was charged. You can claim the site any time.",
                kind="cancelled", form_action=f"/claim/{uuid}/checkout",
                button="Try again")  # fmt: skip
