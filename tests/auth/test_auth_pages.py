"""The sign-in pages and the guard, driven through NiceGUI's User fixture."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import Depends, FastAPI
from nicegui import Client
from nicegui.testing import User

from dashboard.auth.access import COOKIE_NAME, require_admin_api
from dashboard.auth.guard import AdminGuard
from dashboard.auth.provider import AuthError
from dashboard.auth.service import AuthService
from dashboard.auth.sessions import AdminSession
from dashboard.runtime import Runtime
from tests.admin_session import sign_in_admin
from tests.auth_helpers import (
    EMAIL,
    META,
    PASSWORD,
    Signed,
    add_admin,
    code_at,
    enrol,
    service,
)
from tests.clock import FakeClock
from tests.faults import audit_refusing, expect_logged_errors

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture

PUBLIC = {"/login", "/mfa", "/setup-mfa"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def auth(app_runtime: Runtime, clock: FakeClock) -> AuthService:
    auth = service(app_runtime.db, clock)
    app_runtime.services["auth"] = auth
    add_admin(app_runtime.database_url)
    return auth


@pytest.fixture
async def enrolled(auth: AuthService, clock: FakeClock) -> Signed:
    """An admin who already has a factor; the clock is moved to a fresh step."""
    signed = await enrol(auth, clock)
    clock.advance(seconds=30)
    return signed


def protected_paths() -> list[str]:
    paths = {p for p in Client.page_routes.values() if "{" not in p}
    return sorted(paths - PUBLIC)


async def password_step(user: User, password: str = PASSWORD) -> None:
    await user.open("/login")
    user.find(marker="email").type(EMAIL)
    user.find(marker="password").type(password)
    user.find(marker="sign-in").click()


async def test_pages_redirect_to_login_and_keep_the_target(user: User, auth: AuthService) -> None:
    await user.open("/login")
    paths = protected_paths()
    assert {"/", "/security"} <= set(paths)
    for path in paths:
        response = await user.http_client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        expected = "/login" if path == "/" else f"/login?next={path}"
        assert response.headers["location"] == expected


async def test_a_wrong_password_is_refused_with_a_clear_message(
    user: User, auth: AuthService
) -> None:
    await password_step(user, "not it")
    await user.should_see("Wrong email or password.", retries=30)
    assert COOKIE_NAME not in user.http_client.cookies


async def test_a_server_failure_at_sign_in_says_so_without_its_details(
    user: User,
    auth: AuthService,
    app_runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with audit_refusing(app_runtime):  # every sign-in writes an audit row
        await password_step(user)
        await user.should_see(
            "Something went wrong on the server. Try again in a moment.", retries=20
        )
    user.should_not_see("audit log")  # a visitor who is not signed in learns no internals
    assert COOKIE_NAME not in user.http_client.cookies
    expect_logged_errors(caplog, "the audit log is unavailable")


async def test_enrolment_from_the_shown_secret_reaches_the_dashboard(
    user: User, auth: AuthService, clock: FakeClock
) -> None:
    await password_step(user)
    await user.should_see("Set up two-step verification", retries=20)
    secret = user.find(marker="secret").elements.pop().text.replace(" ", "")
    image = user.find(marker="qr").elements.pop()
    assert image.props["src"].startswith("data:image/svg+xml;base64,")
    user.find(marker="code").type(code_at(secret, clock()))
    user.find(marker="verify").click()
    await user.should_see(marker="recovery-codes", retries=20)
    codes = user.find(marker="recovery-codes").elements.pop().default_slot.children
    assert len(codes) == 10
    user.find(marker="continue").click()
    await user.should_see("Have you saved your recovery codes?", retries=20)
    user.find(marker="codes-back").click()  # back to the codes: nothing happens yet
    await user.should_see(marker="recovery-codes")
    user.find(marker="continue").click()
    user.find(marker="codes-saved").click()
    await user.should_see(marker="logout", retries=20)
    await user.open("/security")
    await user.should_see("Recovery codes left: 10 of 10")


async def test_a_password_only_session_is_refused_on_every_admin_page_and_route(
    user: User, enrolled: Signed
) -> None:
    await password_step(user)
    await user.should_see("Two-step verification", retries=20)
    for path in protected_paths():
        response = await user.http_client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/mfa"), path
    api = admin_api()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://test") as c:
        c.cookies.set(COOKIE_NAME, user.http_client.cookies[COOKIE_NAME])
        assert (await c.post("/api/admin/ping")).status_code == 403


async def test_the_same_totp_code_twice_is_refused(
    user: User, enrolled: Signed, clock: FakeClock, create_user: Callable[[], User]
) -> None:
    code = code_at(enrolled.secret, clock())
    await password_step(user)
    await user.should_see("Two-step verification", retries=20)
    user.find(marker="code").type(code)
    user.find(marker="verify").click()
    await user.should_see(marker="logout", retries=20)
    other = create_user()
    await password_step(other)
    await other.should_see("Two-step verification", retries=20)
    other.find(marker="code").type(code)
    other.find(marker="verify").click()
    await other.should_see("That code was already used", retries=20)


async def test_a_recovery_code_works_once(
    user: User, auth: AuthService, enrolled: Signed, create_user: Callable[[], User]
) -> None:
    codes = await auth.recovery.replace(enrolled.session.user_id)
    await password_step(user)
    await user.should_see("Two-step verification", retries=20)
    user.find(marker="code").type(codes[0])
    user.find(marker="verify").click()
    await user.should_see(marker="logout", retries=20)
    other = create_user()
    await password_step(other)
    await other.should_see("Two-step verification", retries=20)
    other.find(marker="code").type(codes[0])
    other.find(marker="verify").click()
    await other.should_see("That recovery code is not right or was already used.", retries=20)


async def test_a_spent_recovery_code_is_announced_with_how_many_are_left(
    user: User, auth: AuthService, enrolled: Signed
) -> None:
    codes = await auth.recovery.replace(enrolled.session.user_id)
    await password_step(user)
    await user.should_see("Two-step verification", retries=20)
    user.find(marker="code").type(codes[0])
    user.find(marker="verify").click()
    await user.should_see(marker="logout", retries=20)
    await user.should_see("You signed in with a recovery code", retries=20)
    await user.should_see("9 recovery codes are left")
    await user.open("/security")  # said once, on the page landed on
    await user.should_not_see("You signed in with a recovery code")


async def test_a_short_app_code_is_told_it_needs_six_digits(user: User, enrolled: Signed) -> None:
    await password_step(user)
    await user.should_see("Two-step verification", retries=20)
    user.find(marker="code").type("123")
    user.find(marker="verify").click()
    await user.should_see("An app code has 6 digits; that was 3.", retries=20)
    await user.should_not_see("recovery code is not right")


async def test_text_that_is_neither_code_says_what_either_looks_like(
    user: User, enrolled: Signed
) -> None:
    await password_step(user)
    await user.should_see("Two-step verification", retries=20)
    user.find(marker="code").type("abc")
    user.find(marker="verify").click()
    await user.should_see("or a recovery code (10 letters and digits", retries=20)


async def test_logout_in_one_tab_then_a_click_in_another_tab_is_refused(
    user: User, enrolled: Signed, clock: FakeClock, create_user: Callable[[], User]
) -> None:
    await password_step(user)
    await user.should_see("Two-step verification", retries=20)
    user.find(marker="code").type(code_at(enrolled.secret, clock()))
    user.find(marker="verify").click()
    await user.should_see(marker="logout", retries=20)
    second_tab = create_user()
    second_tab.http_client.cookies = user.http_client.cookies
    await second_tab.open("/security")
    await user.open("/security")
    user.find(marker="logout").click()
    await user.should_see("You are signed out.", retries=20)
    clock.advance(seconds=30)
    second_tab.find(marker="regen-code").type(code_at(enrolled.secret, clock()))
    second_tab.find(marker="regenerate").click()
    await second_tab.should_see("Your session has ended. Sign in again.", retries=20)
    await second_tab.should_see(marker="sign-in", retries=20)


async def signed_in_on_security(user: User, enrolled: Signed, clock: FakeClock) -> None:
    """Password and TOTP, then /security; the clock moves to a fresh step, since the
    login's code may not be used again."""
    await password_step(user)
    await user.should_see("Two-step verification", retries=20)
    user.find(marker="code").type(code_at(enrolled.secret, clock()))
    user.find(marker="verify").click()
    await user.should_see(marker="logout", retries=20)
    await user.open("/security")
    await user.should_see(marker="codes-left", retries=20)
    audit = user.find(marker="audit").elements.pop()
    assert audit.rows and all(row["at"].endswith(" UTC") for row in audit.rows)  # type: ignore[attr-defined]
    clock.advance(seconds=30)


async def wrong_code_then(user: User, right: str, field: str, button: str, *, shows: str) -> None:
    """A wrong code in `field` first, with `button`: refused with the app's message,
    `shows` not shown; then `right`, submitted with Enter."""
    user.find(marker=field).type(f"{(int(right) + 1) % 1_000_000:06d}")
    user.find(marker=button).click()
    await user.should_see("That code is not right. Check your authenticator app.", retries=20)
    user.should_not_see(marker=shows)
    user.find(marker=field).clear().type(right).trigger("keydown.enter")


async def test_recovery_codes_are_regenerated_with_a_fresh_code_and_not_with_a_wrong_one(
    user: User, enrolled: Signed, auth: AuthService, clock: FakeClock
) -> None:
    old = await auth.recovery.replace(enrolled.session.user_id)
    assert await auth.recovery.use(enrolled.session.user_id, old[0])
    await signed_in_on_security(user, enrolled, clock)
    await user.should_see("Recovery codes left: 9 of 10")
    right = code_at(enrolled.secret, clock())
    await wrong_code_then(user, right, "regen-code", "regenerate", shows="recovery-codes")
    await user.should_see(marker="recovery-codes", retries=20)
    shown = user.find(marker="recovery-codes").elements.pop()
    codes = [child.text for child in shown.default_slot.children]
    assert len(set(codes)) == 10 and not set(codes) & set(old)
    user.find(marker="download-codes").click()
    saved = await user.download.next()
    assert saved.text == "\n".join(codes) + "\n"
    assert await auth.recovery.remaining(enrolled.session.user_id) == 10
    await user.should_see("Recovery codes left: 10 of 10")  # the summary is read again


async def test_a_new_authenticator_is_enrolled_from_the_current_one_and_the_old_one_stops(
    user: User, enrolled: Signed, auth: AuthService, clock: FakeClock
) -> None:
    await signed_in_on_security(user, enrolled, clock)
    current = code_at(enrolled.secret, clock())
    await wrong_code_then(user, current, "reenrol-code", "reenrol", shows="secret")
    await user.should_see(marker="secret", retries=20)
    secret = user.find(marker="secret").elements.pop().text.replace(" ", "")
    assert secret != enrolled.secret
    clock.advance(seconds=30)
    user.find(marker="new-code").type(code_at(secret, clock()))
    user.find(marker="confirm-reenrol").click()
    await user.should_see("New authenticator enrolled; the old one no longer works.", retries=20)
    await user.should_see(marker="recovery-codes")
    clock.advance(seconds=30)
    with pytest.raises(AuthError):
        await auth.step_up(enrolled.session, code_at(enrolled.secret, clock()), META)
    await auth.step_up(enrolled.session, code_at(secret, clock()), META)


async def test_sign_out_everywhere_ends_the_sessions_of_other_browsers(
    user: User,
    enrolled: Signed,
    auth: AuthService,
    clock: FakeClock,
    create_user: Callable[[], User],
) -> None:
    other = create_user()
    await password_step(other)
    await other.should_see("Two-step verification", retries=20)
    other.find(marker="code").type(code_at(enrolled.secret, clock()))
    other.find(marker="verify").click()
    await other.should_see(marker="logout", retries=20)
    clock.advance(seconds=30)
    await signed_in_on_security(user, enrolled, clock)
    await user.should_see("Active sessions: 3")  # this browser, the other, the fixture's
    user.find(marker="sign-out-everywhere").click()
    await user.should_see("Ends all 3 of your sessions, this one included", retries=20)
    user.find(marker="confirm-sign-out-everywhere").click()
    await user.should_see("You are signed out.", retries=20)
    assert await auth.sessions.active_for(enrolled.session.user_id) == []
    for browser in (user, other):
        page = await browser.http_client.get("/security", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/security"


async def test_sign_out_everywhere_asks_first_and_a_cancel_ends_nothing(
    user: User, enrolled: Signed, auth: AuthService, clock: FakeClock
) -> None:
    await signed_in_on_security(user, enrolled, clock)
    before = await auth.sessions.active_for(enrolled.session.user_id)
    user.find(marker="sign-out-everywhere").click()
    await user.should_see(marker="confirm-sign-out-everywhere", retries=20)
    user.find("Cancel").click()
    await user.should_not_see(marker="confirm-sign-out-everywhere", retries=20)
    assert await auth.sessions.active_for(enrolled.session.user_id) == before
    page = await user.http_client.get("/security", follow_redirects=False)
    assert page.status_code == 200


async def test_the_security_page_lists_each_session_and_ends_another_one(
    user: User,
    enrolled: Signed,
    auth: AuthService,
    clock: FakeClock,
    create_user: Callable[[], User],
) -> None:
    other = create_user()
    other.http_client.headers["user-agent"] = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
    )
    await password_step(other)
    await other.should_see("Two-step verification", retries=20)
    other.find(marker="code").type(code_at(enrolled.secret, clock()))
    other.find(marker="verify").click()
    await other.should_see(marker="logout", retries=20)
    clock.advance(seconds=30)
    await signed_in_on_security(user, enrolled, clock)
    # this browser, the phone, the fixture's own session: one row each
    await user.should_see(marker="session-row", retries=20)
    assert len(user.find(marker="session-row").elements) == 3
    assert len(user.find(marker="this-session").elements) == 1
    await user.should_see("Safari on iOS")
    [phone] = [
        s for s in await auth.sessions.listing_for(enrolled.session.user_id)
        if "iPhone" in (s.user_agent or "")
    ]  # fmt: skip
    assert len(user.find(marker="end-session").elements) == 2  # not on this browser's row
    user.find(marker=f"end-session-{phone.id}").click()
    await user.should_see("That session is ended: its pages are signed out.", retries=20)
    assert phone.id not in {s.id for s in await auth.sessions.listing_for(enrolled.session.user_id)}
    assert len(user.find(marker="session-row").elements) == 2
    page = await other.http_client.get("/security", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/security"
    mine = await user.http_client.get("/security", follow_redirects=False)
    assert mine.status_code == 200
    audit = (await auth.db.select("admin_audit_log")).rows
    assert [(str(a["actor_id"]), a["target"]) for a in audit if a["action"] == "session_ended"] == [
        (enrolled.session.user_id, phone.id)
    ]


async def test_cookies_from_before_login_after_the_password_and_after_logout_are_refused(
    user: User, enrolled: Signed, clock: FakeClock
) -> None:
    await user.open("/login")
    before = dict(user.http_client.cookies)
    await password_step(user)
    await user.should_see("Two-step verification", retries=20)
    after_password = dict(user.http_client.cookies)
    user.find(marker="code").type(code_at(enrolled.secret, clock()))
    user.find(marker="verify").click()
    await user.should_see(marker="logout", retries=20)
    signed_in = dict(user.http_client.cookies)
    assert signed_in[COOKIE_NAME] != after_password[COOKIE_NAME]
    await user.http_client.get("/logout")
    for jar in (before, after_password, signed_in):
        user.http_client.cookies.clear()
        for name, value in jar.items():
            user.http_client.cookies.set(name, value)
        response = await user.http_client.get("/security", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/security"


async def test_pages_refuse_other_origins(user: User, auth: AuthService) -> None:
    """(Security headers are the outer app's: tests/test_security_headers.py.)"""
    evil = {"origin": "https://evil.example"}
    assert (await user.http_client.post("/login", headers=evil)).status_code == 403
    sent: list[dict[str, object]] = []

    async def inner(scope: object, receive: object, send: object) -> None:
        raise AssertionError("a cross-origin websocket must not reach NiceGUI")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    scope = {
        "type": "websocket",
        "path": "/_nicegui_ws/socket.io/",
        "headers": [(b"host", b"test"), (b"origin", b"https://evil.example")],
        "query_string": b"",
    }
    await AdminGuard(inner)(scope, receive, send)  # type: ignore[arg-type]
    assert sent == [
        {"type": "websocket.close", "code": 1008, "reason": "cross-origin request refused"}
    ]


def admin_api() -> FastAPI:
    api = FastAPI()

    @api.post("/api/admin/ping")
    async def ping(session: AdminSession = Depends(require_admin_api)) -> dict[str, str]:  # noqa: B008
        return {"email": session.email}

    return api


async def test_admin_routes_need_an_aal2_session_and_the_same_origin(
    user: User, enrolled: Signed
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(admin_api()), base_url="http://test"
    ) as client:
        assert (await client.post("/api/admin/ping")).status_code == 401
        client.cookies.set(COOKIE_NAME, enrolled.token)
        ok = await client.post("/api/admin/ping", headers={"origin": "http://test"})
        assert ok.status_code == 200 and ok.json() == {"email": EMAIL.lower()}
        evil = await client.post("/api/admin/ping", headers={"origin": "https://evil.example"})
        assert evil.status_code == 403


@pytest.mark.parametrize(
    ("login_url", "lands_on"),
    [
        ("/login", "/"),
        ("/login?next=/audit", "/audit"),
        ("/login?next=//evil.example/x", "/"),  # only paths inside /admin
        ("/login?next=/logout", "/"),
    ],
)
async def test_a_signed_in_admin_sent_to_the_login_page_goes_on_to_its_next(
    user: User,
    app_runtime: Runtime,
    login_url: str,
    lands_on: str,
) -> None:
    signed_in = await sign_in_admin(app_runtime)
    user.http_client.cookies.set(COOKIE_NAME, signed_in.token)
    response = await user.http_client.get(login_url, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, lands_on)
