"""Open pages and the session each belongs to: a page dies with its session.

Every NiceGUI page (client) except the sign-in pages was built for one AAL2 session,
the one the `/admin` guard checked for its request. `PageReaper` reads, once a second
and in one query for the whole process, which of those sessions are still live
(`SessionStore.live_ids`), and ends every page whose session ended for any reason
(logout, sign out everywhere, idle or absolute expiry, MFA reset, an admin removed):
its browser is sent to the login page, then the client is deleted on the server and
its sockets closed. Each app instance runs its own reaper and the sessions are in the
database, so a logout on one instance ends the pages on all of them within about a
second.

The sign-in pages (`/login`, `/mfa`, `/setup-mfa`) belong to the browser rather than to
a session: the step they finish rotates the session, and their handlers check the
session themselves.

`page_is_live(client)` is the same verdict in memory, for the live feeds that push to
a page (no query per page): false once the reaper saw the session end, and false when
the reaper has not confirmed it for `STALE_AFTER` seconds (the database is away), so
a feed never outlives the last check by more than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from nicegui import core, ui
from nicegui.client import Client

from dashboard.auth.access import COOKIE_NAME

log = logging.getLogger(__name__)

#: Pages a browser may hold without a session of their own (see the module docstring).
SIGN_IN_PATHS = frozenset({"/login", "/mfa", "/setup-mfa"})
#: How often the reaper reads the sessions of the open pages.
SWEEP_SECONDS = 1.0
#: A feed stops pushing to a page whose session was not confirmed for this long.
STALE_AFTER = 5.0
#: Time for the outbox to send "go to the login page" before the client is deleted.
FLUSH_SECONDS = 0.2
#: A change arriving within this long after a sweep began starts no sweep of its own;
#: a feed that pushes it then asks for one (so a stream of changes costs at most one
#: read per this interval, plus one per pushed burst).
KICK_GAP = 0.05


@dataclass(frozen=True)
class PageIdentity:
    """Who a page was built for: the browser (NiceGUI's storage id), the `cs_session`
    cookie it sent, and the session the guard found for it (None: a sign-in page)."""

    path: str
    browser_id: str | None
    token: str | None
    session_id: str | None


def page_identity(client: Client) -> PageIdentity | None:
    """The page's identity from its own request, or None when the page has none (no
    request, or a session page built without a session: nothing may bind to it)."""
    try:
        scope = client.request.scope
    except RuntimeError:
        return None
    from dashboard.auth.guard import relative_path

    path = relative_path(scope)
    browser = (scope.get("session") or {}).get("id")
    token = client.request.cookies.get(COOKIE_NAME)
    session = (scope.get("state") or {}).get("admin_session")
    if path in SIGN_IN_PATHS:
        return PageIdentity(path, _text(browser), token, None)
    if session is None or not session.is_aal2:
        return None
    return PageIdentity(path, _text(browser), token, str(session.id))


def _text(value: object) -> str | None:
    return str(value) if value else None


@dataclass
class PageReaper:
    """Ends the pages of ended sessions; one per app process (`start_page_reaper`)."""

    sweep_seconds: float = SWEEP_SECONDS
    confirmed_at: float = 0.0  # time.time() of the last sweep that read the sessions
    ended_sessions: set[str] = field(default_factory=set)
    ending: set[str] = field(default_factory=set)  # client ids on their way out
    task: asyncio.Task[None] | None = None
    _running: asyncio.Future[int] | None = None  # the sweep in flight, and when it began
    _running_since: float = 0.0
    _confirmed_since: float = 0.0  # when the last sweep that read the sessions began
    _endings: set[asyncio.Task[None]] = field(default_factory=set)
    _next: asyncio.Future[int] | None = None  # the sweep that starts after it
    last_change_at: float = 0.0  # time.monotonic() when the live bus last saw a change
    _kick: asyncio.Future[None] | None = None
    feeds_failing: bool = False

    async def run(self) -> None:
        failing = False
        while True:
            try:
                await self.sweep()
                failing = False
            except Exception:  # the database is away: feeds stop (STALE_AFTER), try again
                if not failing:
                    log.exception("could not read the sessions of the open pages")
                failing = True
            await asyncio.sleep(self.sweep_seconds)

    def note_change(self) -> None:
        """A change arrived on the live bus: start reading the sessions now, beside the
        bus's own read, so the feeds that push it rarely wait (see `confirm_after`)."""
        now = time.monotonic()
        self.last_change_at = now
        running = self._running is not None and not self._running.done()
        if not running and now - self._running_since >= KICK_GAP:
            self._kick = asyncio.ensure_future(self.confirm_after(now))
            self._kick.add_done_callback(self._kicked)

    def _kicked(self, task: asyncio.Future[None]) -> None:
        failed = not task.cancelled() and task.exception() is not None
        if failed and not self.feeds_failing:  # once per outage
            log.warning("could not read the sessions of the open pages: %s", task.exception())
        self.feeds_failing = failed

    async def confirm_after(self, since: float) -> None:
        """Return once a sweep that began at or after `since` (time.monotonic()) is done,
        so a change that arrived before `since` is never pushed to a page whose session
        ended before it. Concurrent callers share sweeps: at most two per burst, none
        when the sweep a change started on arrival (`note_change`) is already done."""
        if self._confirmed_since >= since:
            return
        running = self._running
        if running is not None and not running.done() and self._running_since >= since:
            await asyncio.shield(running)
            return
        if self._next is None or self._next.done():
            self._next = asyncio.ensure_future(self._sweep_after(running))
        await asyncio.shield(self._next)

    async def _sweep_after(self, running: asyncio.Future[int] | None) -> int:
        if running is not None and not running.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(running)
        return await self.sweep()

    async def sweep(self) -> int:
        """End the pages whose session ended; returns how many (sweeps never overlap)."""
        while self._running is not None and not self._running.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._running)
        self._running_since = time.monotonic()
        self._running = asyncio.ensure_future(self._sweep())
        return await asyncio.shield(self._running)

    async def _sweep(self) -> int:
        from dashboard.auth import get_auth

        began = time.monotonic()
        pages: list[tuple[Client, str]] = []
        for client in list(Client.instances.values()):
            identity = page_identity(client)
            if identity is not None and identity.session_id is not None:
                pages.append((client, identity.session_id))
        started = time.time()
        wanted = {session_id for _, session_id in pages}
        live = await get_auth().sessions.live_ids(wanted)
        self.confirmed_at = started
        self._confirmed_since = max(self._confirmed_since, began)
        self.ended_sessions = (self.ended_sessions | (wanted - live)) & wanted
        ended = [
            client
            for client, session_id in pages
            if session_id not in live and client.id not in self.ending and _deletable(client)
        ]
        for client in ended:  # in the background: the verdict above already holds
            self.ending.add(client.id)
            task = asyncio.ensure_future(self.end_page(client))
            self._endings.add(task)
            task.add_done_callback(self._endings.discard)
        return len(ended)

    async def end_page(self, client: Client) -> None:
        """Send the browser to the login page, delete the client, close its sockets."""
        self.ending.add(client.id)
        try:
            if client.is_deleted:
                return
            with client:
                ui.navigate.to(_login_path(client))
            await asyncio.sleep(FLUSH_SECONDS)
            sockets = [sid for sid, _ in core.sio.manager.get_participants("/", client.id)]
            if not client.is_deleted and _deletable(client):
                client.delete()
            for sid in sockets:
                with contextlib.suppress(Exception):
                    await core.sio.disconnect(sid)
        finally:
            self.ending.discard(client.id)

    def page_is_live(self, client: Client) -> bool:
        if client.is_deleted or client.id in self.ending:
            return False
        identity = page_identity(client)
        if identity is None:
            return False
        if identity.session_id is None:
            return True
        if identity.session_id in self.ended_sessions:
            return False
        return time.time() - max(self.confirmed_at, client.created) <= STALE_AFTER


def _deletable(client: Client) -> bool:
    """Connected, or never connected. A client whose socket dropped is deleted by NiceGUI
    itself after its reconnect timeout (deleting it here too would delete it twice); no
    socket can bind to it meanwhile (its session is over) and its feeds have stopped."""
    return client.has_socket_connection or client.environ is None


def _login_path(client: Client) -> str:
    identity = page_identity(client)
    path = identity.path if identity else "/"
    return "/login?ended=1" + ("" if path == "/" else f"&next={quote(path, safe='/')}")


_reaper: list[PageReaper] = []


def start_page_reaper(sweep_seconds: float = SWEEP_SECONDS) -> PageReaper:
    """Start this process's reaper (from the app's lifespan, once the runtime is open)."""
    stop_page_reaper()
    reaper = PageReaper(sweep_seconds)
    reaper.task = asyncio.get_running_loop().create_task(
        reaper.run(), name="end the pages of ended sessions"
    )
    _reaper.append(reaper)
    return reaper


def stop_page_reaper() -> None:
    while _reaper:
        task = _reaper.pop().task
        if task is not None:
            task.cancel()


def reaper_running() -> bool:
    return bool(_reaper)


def page_is_live(client: Client) -> bool:
    """May a live feed push to this page? True without a reaper (an app that never
    started one, like the in-process UI tests: handlers still check the session)."""
    return _reaper[-1].page_is_live(client) if _reaper else not client.is_deleted


def note_change(_change: object = None) -> None:
    """The live bus's hook (components/live subscribes it to every change)."""
    if _reaper:
        _reaper[-1].note_change()


async def confirm_pages(since: float | None = None) -> bool:
    """For a live feed that is about to push: wait for a session read that began at or
    after `since` (time.monotonic(); default: when the bus last saw a change, so every
    change being pushed arrived before the read). False when it could not be made."""
    if not _reaper:
        return True
    reaper = _reaper[-1]
    try:
        await reaper.confirm_after(reaper.last_change_at if since is None else since)
    except Exception as exc:
        if not reaper.feeds_failing:  # once per outage, not once per page and burst
            log.warning("could not read the sessions of the open pages; feeds hold: %s", exc)
        reaper.feeds_failing = True
        return False
    reaper.feeds_failing = False
    return True


def is_ending(client_id: str) -> bool:
    """True while a page is being ended (no message from its sockets counts)."""
    return bool(_reaper) and client_id in _reaper[-1].ending
