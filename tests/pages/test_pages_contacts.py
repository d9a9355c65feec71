"""Owner emails on the pages: the business page's email field (validated, audited,
outreach started) and the "needs contact" filter on /businesses."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User

from dashboard.backends.base import Filter
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn, open_detail, settle, table_rows
from tests.factories import add_business, add_site

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture


async def test_an_admin_adds_the_owner_email_and_outreach_starts(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    reason = "demo: the listing gives a phone number only"
    bid = await add_business(app_runtime, 1, status="deployed", email_missing_reason=reason)
    q = await add_site(app_runtime, bid, outreach_status="skipped",
                       outreach_error="no email address to write to")  # fmt: skip
    await open_detail(user, bid)
    await user.should_see("demo: the listing gives a phone number only")
    user.find(marker="owner-email").type("rosa@gmial.com")
    user.find(marker="owner-email-save").click()
    await user.should_see("did you mean gmail.com", retries=50)
    user.find(marker="owner-email").clear().type("rosa@bakery-one.com")
    user.find(marker="owner-email-save").click()
    await user.should_see("Owner email saved; outreach started.", retries=100)
    [row] = (
        await app_runtime.api.select("qualified_businesses", filters=[Filter("id", "eq", q["id"])])
    ).rows
    assert row["email"] == "rosa@bakery-one.com" and row["outreach_status"] == "started"
    [entry] = (await app_runtime.api.select("admin_audit_log")).rows
    assert entry["action"] == "owner_email_set" and entry["actor_email"] == admin.email
    assert entry["details"]["before"]["email"] is None
    assert entry["details"]["after"]["email"] == "rosa@bakery-one.com"


async def test_needs_contact_lists_deployed_sites_without_an_email(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    with_email = await add_business(app_runtime, 1, status="deployed", email="a@b.com")
    await add_site(app_runtime, with_email, email="a@b.com")
    lacking = await add_business(app_runtime, 2, status="deployed")
    await app_runtime.api.insert("qualified_businesses", [{
        "pipeline_business_id": lacking, "uuid": "nomail22", "name": "Bakery 2",
        "place_id": "place-2", "category": "bakery", "city": "Clifton", "region": "NJ",
        "preview_url": "https://x.test/nomail22"}])  # fmt: skip
    await add_business(app_runtime, 3)  # queued, no site: not "needs contact"
    await user.open("/businesses")
    await user.should_see(marker="needs-contact", retries=100)

    async def rows_are(n: int) -> bool:
        return bool(user.find(ui.table).elements) and len(table_rows(user)) == n

    await settle(lambda: rows_are(3))
    user.find(marker="needs-contact").click()
    await settle(lambda: rows_are(1))
    assert table_rows(user)[0]["uuid"] == "nomail22"


async def test_the_page_import_lists_every_line_and_writes_only_a_clean_file(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from nicegui.elements.upload_files import SmallFileUpload

    bid = await add_business(app_runtime, 1)
    await user.open("/businesses")
    await user.should_see(marker="import-emails", retries=100)

    user.find(marker="import-emails").click()
    await user.should_see(marker="import-upload", retries=50)
    [widget] = user.find(marker="import-upload").elements

    async def upload(text: str) -> None:
        file = SmallFileUpload(name="emails.csv", content_type="text/csv", _data=text.encode())
        await widget.handle_uploads([file])  # type: ignore[attr-defined]

    await upload("place_id,email\nplace-1,rosa@bakery.com\nplace-9,x@bakery.com\n")
    await user.should_see("1 to change, 1 with errors", retries=50)
    await user.should_see("line 3: place-9: no business has place_id 'place-9'")
    await user.should_see("nothing was written")
    await user.should_not_see(marker="import-apply")
    await upload(  # the fixed file, in the same dialog
        "place_id,email\nplace-1,rosa@bakery.com\n"
    )
    await user.should_see(marker="import-apply", retries=50)
    await user.should_see("line 2: place-1: no email -> rosa@bakery.com")
    await user.should_see("1 to change, 0 with errors")
    user.find(marker="import-apply").click()
    await user.should_see("1 email(s) written", retries=50)
    [row] = (
        await app_runtime.api.select("pipeline_businesses", filters=[Filter("id", "eq", bid)])
    ).rows
    assert (row["email"], row["email_source"]) == ("rosa@bakery.com", "import")
