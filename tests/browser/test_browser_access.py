"""Usable by everyone, by keyboard, on a phone, light or dark (issue 21), in a real
headless Chromium against a real `cliftonsites serve` and a seeded database.

- axe-core (the copy shipped by `selenium-axe-python`) finds no critical or serious
  violation on any page, light and dark, at 1440x900 and at a phone's 390x844, signed
  in and on the sign-in pages; each page has a `lang` and exactly one `h1`.
- A person signs in, enrols and sends a guarded command with the keyboard alone.
- At 390x844 the header is at most 64 px, nothing needs sideways scrolling, the MFA
  setup card fits with the secret and recovery codes whole.
- The theme an admin picks is stored with them and follows them to a second browser.
- An unknown page is a 404 inside the frame with a way back; a page that loses its
  connection says so and greys what it shows until it is back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest

from dashboard.auth.admins import create_admin
from dashboard.seed import seed_database
from tests import access_support as access
from tests import e2e_support as e2e
from tests.dbutil import create_migrated_database, drop_database

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        e2e.browser_missing_reason() is not None, reason=str(e2e.browser_missing_reason())
    ),
]

#: Each signed-in page and the title its h1 shows.
PAGES = {
    "/": "Overview",
    "/logs": "Logs",
    "/runs": "Runs",
    "/businesses": "Businesses",
    "/businesses/1": "Business",
    "/config": "Config",
    "/audit": "Audit log",
    "/reconcile": "Reconciliation",
    "/security": "Security",
    "/system": "System",
    "/alerts": "Alerts",
    "/no-such-page": "Page not found",
}
SIZES = {"desktop": access.DESKTOP, "phone": access.PHONE}
SCHEMES = ("light", "dark")
RECOVERY_CODE = re.compile(r"^[a-z0-9]{5}-[a-z0-9]{5}$")


@pytest.fixture(scope="module")
def db(embedded_admin_url: str) -> Iterator[str]:
    url = create_migrated_database(embedded_admin_url)
    seed_database(url, businesses=200, targets=40)
    create_admin(url, e2e.EMAIL, e2e.PASSWORD)
    yield url
    drop_database(embedded_admin_url, url)


@pytest.fixture(scope="module")
def app(db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.AppServer]:
    server = e2e.start_app(db, tmp_path_factory.mktemp("access-app"))
    yield server
    server.proc.stop()


@pytest.fixture
def browser() -> Iterator[e2e.Browser]:
    chrome = e2e.start_browser()
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def signed_in(app: e2e.AppServer) -> Iterator[tuple[e2e.Browser, str]]:
    """A browser signed in as the main admin (enrolled here), and its TOTP secret."""
    chrome = e2e.start_browser()
    try:
        secret = e2e.enrol_and_sign_in(chrome.driver, app, e2e.EMAIL, e2e.PASSWORD)
        yield chrome, secret
    finally:
        chrome.quit()


def new_admin(db: str, name: str) -> tuple[str, str]:
    email = f"{name}@cliftonsites.test"
    create_admin(db, email, e2e.PASSWORD)
    return email, e2e.PASSWORD


def settled(driver: Any, title: str | None = None, timeout: float = 15.0) -> None:
    """The page has loaded, its socket is connected, and (when given) its h1 shows."""

    def ready() -> bool:
        state = driver.execute_script(
            "return [document.readyState, !!(window.socket && window.socket.connected),"
            " document.body.classList.contains('cs-offline'),"
            " (document.querySelector('h1') || {}).textContent || '']"
        )
        return bool(
            state[0] == "complete" and state[1] and not state[2] and (title is None or state[3])
        )

    e2e.wait_until(ready, timeout, f"{driver.current_url} to settle", every=0.1)
    if title is not None:
        e2e.wait_for_text(driver, title, timeout)
    time.sleep(0.3)  # the socket's first updates (tables, charts) land


def page_problems(driver: Any, where: str) -> list[str]:
    """What a person using a screen reader, a keyboard or a phone would trip over here."""
    problems = []
    lang = driver.execute_script("return document.documentElement.lang")
    if not lang:
        problems.append(f"{where}: <html> has no lang")
    h1s = driver.execute_script("return document.querySelectorAll('h1').length")
    if h1s != 1:
        problems.append(f"{where}: {h1s} h1 elements")
    found = access.serious_violations(driver)
    if found:
        problems.append(f"{where}:\n{access.describe(found)}")
    return problems


def phone_problems(driver: Any, where: str) -> list[str]:
    problems = []
    header = driver.execute_script(
        "const h = document.querySelector('header');"
        " return h ? h.getBoundingClientRect().height : 0"
    )
    if header > 64:
        problems.append(f"{where}: header is {header:.0f} px tall")
    wide = driver.execute_script("return document.documentElement.scrollWidth")
    if wide > access.PHONE[0] + 1:
        problems.append(f"{where}: the page is {wide} px wide (sideways scrolling)")
    return problems


def test_every_signed_in_page_passes_axe_light_and_dark_on_desktop_and_phone(
    signed_in: tuple[e2e.Browser, str], app: e2e.AppServer
) -> None:
    driver = signed_in[0].driver
    problems: list[str] = []
    for size_name, size in SIZES.items():
        for scheme in SCHEMES:
            access.emulate(driver, size, scheme)
            for path, title in PAGES.items():
                driver.get(app.url(path))
                settled(driver, title)
                where = f"{path} {size_name} {scheme}"
                assert access.is_dark(driver) == (scheme == "dark"), f"{where}: theme"
                problems += page_problems(driver, where)
                if size_name == "phone":
                    problems += phone_problems(driver, where)
    access.emulate(driver, access.DESKTOP, "light")
    assert problems == [], "\n".join(problems)


def test_the_sign_in_pages_pass_axe_light_and_dark_on_desktop_and_phone(
    browser: e2e.Browser, app: e2e.AppServer, db: str
) -> None:
    driver = browser.driver
    email, password = new_admin(db, "axe-sign-in")
    problems: list[str] = []
    for size_name, size in SIZES.items():
        for scheme in SCHEMES:
            access.emulate(driver, size, scheme)
            where = f"{size_name} {scheme}"
            driver.delete_all_cookies()
            driver.get(app.url("/login"))
            settled(driver, "CliftonSites Admin")
            assert access.is_dark(driver) == (scheme == "dark"), f"/login {where}: theme"
            problems += page_problems(driver, f"/login {where}")
            e2e.type_into(driver, "email", email)
            e2e.type_into(driver, "password", password)
            e2e.click(driver, "sign-in")
            e2e.wait_for_path(driver, "/admin/setup-mfa")
            settled(driver, "Set up two-step verification")
            problems += page_problems(driver, f"/setup-mfa {where}")
            if size_name == "phone":
                problems += phone_problems(driver, f"/setup-mfa {where}")
    assert problems == [], "\n".join(problems)


def test_the_second_step_page_passes_axe_light_and_dark(
    signed_in: tuple[e2e.Browser, str], browser: e2e.Browser, app: e2e.AppServer
) -> None:
    driver = browser.driver
    e2e.enter_password(driver, app, e2e.EMAIL, e2e.PASSWORD)
    e2e.wait_for_path(driver, "/admin/mfa")
    problems: list[str] = []
    for size_name, size in SIZES.items():
        for scheme in SCHEMES:
            access.emulate(driver, size, scheme)
            driver.refresh()
            settled(driver, "Two-step verification")
            problems += page_problems(driver, f"/mfa {size_name} {scheme}")
    assert problems == [], "\n".join(problems)


# --- keyboard -----------------------------------------------------------------------


def keys(driver: Any, *sequence: str) -> None:
    """Type into whatever has the focus, as a keyboard does (no element is clicked)."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*sequence).perform()


def focused(driver: Any) -> dict[str, Any]:
    return dict(
        driver.execute_script(
            "const a = document.activeElement;"
            " const box = a.closest('[data-testid]');"
            " const style = getComputedStyle(a);"
            " return {tag: a.tagName.toLowerCase(), text: (a.innerText || '').trim(),"
            " testid: a.dataset.testid || (box ? box.dataset.testid : ''),"
            " outline: style.outlineStyle + ' ' + style.outlineWidth,"
            " visible: a.matches(':focus-visible')}"
        )
    )


def tab_to(driver: Any, wanted: str, limit: int = 80) -> dict[str, Any]:
    """Press Tab until the focused control's text is `wanted`; its focus state."""
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        keys(driver, Keys.TAB)
        now = focused(driver)
        if now["text"].splitlines()[-1:] == [wanted]:  # an icon's ligature comes first
            return now
    raise AssertionError(f"{wanted!r} was not reached in {limit} Tab presses")


def test_a_person_signs_in_enrols_and_sends_a_guarded_command_with_the_keyboard_alone(
    browser: e2e.Browser, app: e2e.AppServer, db: str
) -> None:
    from selenium.webdriver.common.keys import Keys

    driver = browser.driver
    email, password = new_admin(db, "keyboard")
    driver.get(app.url("/login"))
    settled(driver, "CliftonSites Admin")
    assert focused(driver)["testid"] == "email", "the email field has the focus at first"
    keys(driver, email, Keys.TAB, password, Keys.ENTER)  # Enter submits the form
    e2e.wait_for_path(driver, "/admin/setup-mfa")
    settled(driver, "Set up two-step verification")
    assert focused(driver)["testid"] == "code", "the code field has the focus"
    secret = e2e.wait_for_element(driver, "secret").text.replace(" ", "")
    keys(driver, pyotp.TOTP(secret).now(), Keys.ENTER)
    e2e.wait_for_element(driver, "recovery-codes")
    e2e.wait_until(lambda: focused(driver)["testid"] == "continue", 5, "focus on Continue")
    keys(driver, Keys.ENTER)
    e2e.wait_until(
        lambda: focused(driver)["testid"] == "codes-saved", 5, "focus on 'Yes, I saved them'"
    )
    keys(driver, Keys.ENTER)
    settled(driver, "Overview")

    skip = tab_to(driver, "Skip to content", limit=3)
    assert skip["outline"].startswith("solid"), f"the skip link shows a focus ring: {skip}"
    keys(driver, Keys.ENTER)
    assert driver.execute_script("return document.activeElement.tagName") == "H1"
    tab_to(driver, "Stop")
    ring = e2e.wait_until(
        lambda: focused(driver)["outline"].startswith("solid"), 3, "a focus ring on the button"
    )
    assert ring
    keys(driver, Keys.ENTER)
    e2e.wait_for_element(driver, "step-up-code")
    e2e.wait_until(lambda: focused(driver)["tag"] == "input", 5, "focus in the code field")
    keys(driver, e2e.fresh_code(secret), Keys.ENTER)  # Enter confirms the dialog
    commands = e2e.wait_until(
        lambda: e2e.sql(db, "select process, command, requested_by from automation_commands"),
        10,
        "the command to be sent",
    )
    assert commands == [{"process": "identification", "command": "stop", "requested_by": email}]


def test_table_rows_are_links_that_tab_reaches_and_that_open_in_a_new_tab(
    signed_in: tuple[e2e.Browser, str], app: e2e.AppServer
) -> None:
    driver = signed_in[0].driver
    access.emulate(driver, access.DESKTOP, "light")
    driver.get(app.url("/businesses"))
    settled(driver, "Businesses")
    links = e2e.wait_until(
        lambda: driver.execute_script(
            "return [...document.querySelectorAll('.q-table tbody a[href]')]"
            ".map(a => a.getAttribute('href'))"
        ),
        10,
        "links in the businesses table",
    )
    assert all(re.search(r"/admin/businesses/\d+$", href) for href in links), links
    first = driver.execute_script(
        "return document.querySelector('.q-table tbody a[href]').innerText.trim()"
    )
    reached = tab_to(driver, first, limit=120)
    assert reached["tag"] == "a"


# --- phone --------------------------------------------------------------------------


def test_on_a_phone_the_setup_card_fits_and_the_secret_and_codes_read_back_whole(
    browser: e2e.Browser, app: e2e.AppServer, db: str
) -> None:
    driver = browser.driver
    access.emulate(driver, access.PHONE, "light")
    email, password = new_admin(db, "phone")
    e2e.enter_password(driver, app, email, password)
    e2e.wait_for_path(driver, "/admin/setup-mfa")
    settled(driver, "Set up two-step verification")
    card = "[data-testid=sign-in-card]"
    assert access.outside_viewport(driver, card, access.PHONE[0]) == []
    shown = e2e.wait_for_element(driver, "secret").text
    link = e2e.wait_for_element(driver, "otpauth-link").get_attribute("href")
    assert link.startswith("otpauth://totp/")
    secret = parse_qs(urlsplit(link).query)["secret"][0]
    assert shown.replace(" ", "") == secret, "the key on screen is the whole secret"
    assert clipped(driver, "[data-testid=secret]") == []
    e2e.type_into(driver, "code", pyotp.TOTP(secret).now())
    e2e.click(driver, "verify")
    codes_box = e2e.wait_for_element(driver, "recovery-codes")
    codes = codes_box.text.split()
    assert len(codes) == 10 and all(RECOVERY_CODE.match(c) for c in codes), codes
    assert access.outside_viewport(driver, card, access.PHONE[0]) == []
    assert clipped(driver, "[data-testid=recovery-codes] *") == []


def clipped(driver: Any, selector: str) -> list[str]:
    """Elements whose text is wider than their box (cut off or hidden)."""
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)",
            selector,
        )
    )


# --- theme --------------------------------------------------------------------------


def choose_theme(driver: Any, label: str) -> None:
    """Click the header's theme button (found again if the header was redrawn meanwhile)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    path = f"//*[@role='group'][@aria-label='Theme']/button[normalize-space()='{label}']"

    def chosen() -> bool:
        """Pressed once the server has stored it; clicked (again) until then (idempotent)."""
        try:
            button = driver.find_element(By.XPATH, path)
            if button.get_attribute("aria-pressed") == "true":
                return True
            button.click()
        except StaleElementReferenceException:
            pass
        time.sleep(0.5)
        return False

    e2e.wait_until(chosen, 15, f"the {label} theme to be chosen")


def test_the_theme_follows_the_browser_until_chosen_then_follows_the_admin_to_another_browser(
    browser: e2e.Browser, app: e2e.AppServer, db: str
) -> None:
    email, password = new_admin(db, "theme")
    first = browser.driver
    secret = e2e.enrol_and_sign_in(first, app, email, password)
    access.emulate(first, access.DESKTOP, "dark")
    first.get(app.url("/"))
    settled(first, "Overview")
    assert access.is_dark(first), "auto follows a dark prefers-color-scheme"
    access.emulate(first, access.DESKTOP, "light")
    e2e.wait_until(lambda: not access.is_dark(first), 5, "auto to follow the light scheme")
    choose_theme(first, "Dark")
    e2e.wait_until(lambda: access.is_dark(first), 10, "dark mode once chosen")
    stored = e2e.sql(
        db,
        "select p.theme from admin_private.admin_preferences p"
        " join auth.users u on u.id = p.user_id where u.email = %s",
        (email,),
    )
    assert stored == [{"theme": "dark"}]

    other = e2e.start_browser()
    try:
        access.emulate(other.driver, access.DESKTOP, "light")
        e2e.sign_in(other.driver, app, email, password, secret)
        settled(other.driver, "Overview")
        assert access.is_dark(other.driver), "the second browser shows the admin's choice"
    finally:
        other.quit()


# --- dead ends ----------------------------------------------------------------------


def test_an_unknown_page_is_a_404_inside_the_frame_with_a_way_back(
    signed_in: tuple[e2e.Browser, str], app: e2e.AppServer
) -> None:
    driver = signed_in[0].driver
    access.emulate(driver, access.DESKTOP, "light")
    driver.get(app.url("/no-such-page"))
    settled(driver, "Page not found")
    e2e.wait_for_text(driver, "There is no page at /admin/no-such-page")
    assert driver.find_elements("css selector", "header [data-testid=logout]")
    back = e2e.wait_for_element(driver, "back-to-overview")
    assert back.get_attribute("href").rstrip("/").endswith("/admin")
    cookie = driver.get_cookie("cs_session")["value"]
    answer = httpx.get(app.url("/no-such-page"), cookies={"cs_session": cookie})
    assert answer.status_code == 404
    assert "Back to the overview" in answer.text
    back.click()
    settled(driver, "Overview")


def test_a_page_that_loses_its_connection_says_so_and_greys_its_numbers_until_back(
    signed_in: tuple[e2e.Browser, str], app: e2e.AppServer
) -> None:
    driver = signed_in[0].driver
    access.emulate(driver, access.DESKTOP, "light")
    driver.get(app.url("/"))
    settled(driver, "Overview")
    opacity = (
        "return getComputedStyle(document.querySelector("
        "'.nicegui-content > *:not([role=status])')).opacity"
    )
    assert float(driver.execute_script(opacity)) == 1.0
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    driver.execute_script("window.socket.io.engine.close()")  # what a dropped link does
    e2e.wait_for_element(driver, "offline-note", 10)
    e2e.wait_for_text(driver, "Offline: reconnecting. What you see may be out of date.")
    assert float(driver.execute_script(opacity)) < 1.0, "the stale numbers are greyed"
    online = {**offline, "offline": False}
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", online)
    e2e.wait_until(
        lambda: not driver.execute_script("return document.body.classList.contains('cs-offline')"),
        20,
        "the page to be live again",
    )
    assert float(driver.execute_script(opacity)) == 1.0


def test_the_chart_library_loads_only_when_a_chart_comes_into_view_and_then_draws(
    signed_in: tuple[e2e.Browser, str], app: e2e.AppServer
) -> None:
    driver = signed_in[0].driver
    access.emulate(driver, (1440, 600, False), "light")  # the charts below the first screen
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.get_log("browser")  # drop what earlier tests' pages logged (a 404 page is one)
    driver.get(app.url("/"))
    settled(driver, "Overview")
    fetched = (
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('plotly-charts')).length"
    )
    assert driver.execute_script(fetched) == 0, "no chart library before a chart is in view"
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    for y in range(0, height, 300):  # scroll down the page as a person would
        driver.execute_script("window.scrollTo(0, arguments[0])", y)
        time.sleep(0.05)
    e2e.wait_until(
        lambda: driver.execute_script(
            "return document.querySelectorAll('.js-plotly-plot .main-svg').length"
        ),
        20,
        "the charts to be drawn",
    )
    assert driver.execute_script(fetched) == 1
    assert script_errors(driver) == []
    access.emulate(driver, access.DESKTOP, "light")


def script_errors(driver: Any) -> list[str]:
    return [
        str(entry["message"])
        for entry in driver.get_log("browser")
        if entry.get("level") == "SEVERE" and "favicon" not in str(entry["message"])
    ]
