"""Unknown `/admin/...` paths: a "page not found" page inside the frame (header,
navigation, logout) with a way back, answered with status 404, instead of NiceGUI's
bare "HTTPException: 404".

Only signed-in admins get here (the guard sends anyone else to the login page first);
paths of API-like endpoints that raise 404 themselves still answer JSON, as NiceGUI's
own handler does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from fastapi import Request, Response
from fastapi.exception_handlers import http_exception_handler
from nicegui import Client, app, core, ui
from nicegui.page import page
from starlette.exceptions import HTTPException as StarletteHTTPException

from dashboard.components.frame import NAV, frame, path_prefix

TITLE = "Page not found"


def _is_page_request(request: Request, exception: Exception) -> bool:
    endpoint = request.scope.get("endpoint")
    raised_by_endpoint = (
        endpoint is not None
        and endpoint is not app
        and not request.scope.get("nicegui_page_path")
        and isinstance(exception, StarletteHTTPException)
    )
    return not raised_by_endpoint


def not_found_body(path: str, prefix: str) -> str:
    """What the page says, and the links out (every page of the navigation)."""
    links = "".join(
        f'<li><a class="nicegui-link" href="{escape(prefix + target)}">{escape(label)}</a></li>'
        for target, label in NAV
    )
    return (
        f'<p class="m-0">There is no page at <code class="cs-code">{escape(path)}</code>.'
        " It may have moved, or the link has a typo.</p>"
        f'<p class="m-0"><a class="nicegui-link font-semibold" data-testid="back-to-overview"'
        f' href="{escape(prefix or "/")}">Back to the overview</a></p>'
        f'<nav aria-label="All pages"><ul class="list-disc pl-6 m-0">{links}</ul></nav>'
    )


def _nicegui_handler() -> Callable[[Request, Exception], Awaitable[Response]] | None:
    handler = app.exception_handlers.get(404)
    return None if getattr(handler, "__module__", None) == __name__ else handler  # type: ignore[return-value]


_NICEGUI_NOT_FOUND = _nicegui_handler()


async def not_found(request: Request, exception: Exception) -> Response:
    if not _is_page_request(request, exception):
        return await http_exception_handler(request, exception)  # type: ignore[arg-type]
    if core.root is not None and _NICEGUI_NOT_FOUND is not None:
        # `ui.run(root)` serves its root page through NiceGUI's 404 handler; this app has
        # no root page, but a process that sets one keeps it working.
        return await _NICEGUI_NOT_FOUND(request, exception)
    with Client(page(""), request=request) as client, frame(TITLE, active=""):
        body = not_found_body(request.url.path, path_prefix())
        ui.html(body, sanitize=False).classes("flex flex-col gap-3").mark("not-found")
    return client.build_response(request, 404)


def register() -> None:
    """Answer unknown paths with this page (in place of NiceGUI's own 404 handler, which
    it still calls for a root page)."""
    app.exception_handlers[404] = not_found
