"""The NiceGUI surface `dashboard.auth.sockets` hooks into, pinned: an upgrade that renames,
adds or reshapes one of NiceGUI's socket handlers fails here before it opens a hole.
Also the guard's own rules on a real (unconnected) python-socketio server, and the
access log's redaction."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

import pytest
import socketio
from nicegui import core
from nicegui import nicegui as nicegui_module
from nicegui.client import Client

from dashboard.access_log import REDACTED, RedactQuery, redact, uvicorn_log_config
from dashboard.auth import sockets
from dashboard.auth.sockets import NICEGUI_MESSAGES, Binding, SocketGuard


def test_nicegui_registers_exactly_the_socket_messages_the_guard_knows() -> None:
    sockets.install(core.sio)
    assert set(core.sio.handlers["/"]) == NICEGUI_MESSAGES


def test_every_nicegui_socket_handler_is_wrapped_and_the_originals_are_nicegui_s() -> None:
    guard = sockets.install(core.sio)
    assert sockets.install(core.sio) is guard  # installing twice wraps nothing twice
    for name, handler in core.sio.handlers["/"].items():
        assert getattr(handler, "_cliftonsites_socket_guard", False), name
        original = guard.originals[name]
        assert original is getattr(nicegui_module, f"_on_{name}"), name


def test_nicegui_handlers_keep_the_shape_the_guard_calls() -> None:
    params = {
        name: list(inspect.signature(getattr(nicegui_module, f"_on_{name}")).parameters)
        for name in NICEGUI_MESSAGES
    }
    assert params["connect"] == ["sid", "data", "_"]
    assert params["disconnect"] == ["sid"]
    for name in ("handshake", "event", "javascript_response", "ack", "log"):
        assert len(params[name]) == 2, name
    # the implicit handshake runs inside `connect`, calling the module's own function
    connect = inspect.getsource(nicegui_module._on_connect)
    assert "implicit_handshake" in connect and "_on_handshake(sid, query)" in connect
    assert "Implicit handshake failed" in connect


def test_a_refused_implicit_handshake_makes_nicegui_s_browser_code_reload() -> None:
    script = (Path(nicegui_module.__file__).parent / "static" / "nicegui.js").read_text()
    assert 'err.message == "Implicit handshake failed"' in script
    refused = script.split('err.message == "Implicit handshake failed"', 1)[1][:300]
    assert "window.location.reload()" in refused


def test_the_client_attributes_the_reaper_reads_are_public_and_there() -> None:
    for name in ("instances", "delete", "is_deleted", "has_socket_connection", "request"):
        assert hasattr(Client, name), name
    assert "environ" in inspect.signature(Client.accept_handshake).parameters
    assert callable(core.sio.manager.get_participants)
    assert callable(core.sio.disconnect) and callable(core.sio.get_environ)


@pytest.fixture
def guard() -> SocketGuard:
    """A guard on a real python-socketio server that no socket ever reaches."""
    server = socketio.AsyncServer(async_mode="asgi")
    return SocketGuard(server, {name: _never for name in NICEGUI_MESSAGES})


def _never(*_args: object) -> None:
    raise AssertionError("NiceGUI's handler must not run for this message")


async def test_a_message_from_an_unbound_socket_is_dropped_and_logged_once_without_content(
    guard: SocketGuard, caplog: pytest.LogCaptureFixture
) -> None:
    message = {"client_id": "the-admins-page", "id": 1, "listener_id": "x", "args": ["secret"]}
    with caplog.at_level(logging.INFO, logger="dashboard.auth.sockets"):
        await guard.on_event("sid-1", message)
        await guard.on_event("sid-1", message)
        await guard.bound_only("javascript_response")("sid-1", message)
        await guard.on_log("sid-1", {**message, "level": "error", "message": "secret"})
    assert len(caplog.records) == 1
    text = caplog.records[0].getMessage()
    assert "dropped a socket message (event)" in text
    assert "secret" not in text and "the-admins-page" not in text


async def test_a_log_message_from_its_own_socket_becomes_one_escaped_bounded_debug_line(
    guard: SocketGuard, caplog: pytest.LogCaptureFixture
) -> None:
    guard.bind("sid-2", Binding("page-2", None, None))
    forged = 'oops\nINFO:     127.0.0.1:1 - "GET /admin HTTP/1.1" 200 OK' + "x" * 5000
    with caplog.at_level(logging.DEBUG, logger="dashboard.auth.sockets"):
        await guard.on_log("sid-2", {"client_id": "page-2", "level": "error", "message": forged})
    [record] = caplog.records
    assert record.levelno == logging.DEBUG
    line = record.getMessage()
    assert "\n" not in line and "oops\\nINFO" in line
    assert len(line) < sockets.MAX_LOG_CHARS + 100


def test_redaction_hides_tickets_client_ids_socket_ids_and_tokens_but_not_other_values() -> None:
    line = (
        "/admin/auth/complete?ticket=T1 /admin/_nicegui_ws/socket.io/?client_id=C1"
        "&next_message_id=0&document_id=D1&tab_id=TAB&EIO=4&sid=S1"
        " /healthz?access_token=A1&page=2&Token=B1&api_key=K1&code=123456"
    )
    out = redact(line)
    for secret in ("T1", "C1", "D1", "TAB", "S1", "A1", "B1", "K1", "123456"):
        assert f"={secret}" not in out, secret
    assert f"ticket={REDACTED}" in out and "page=2" in out and "next_message_id=0" in out


def test_the_filter_rewrites_uvicorn_s_access_and_websocket_records() -> None:
    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/admin/auth/complete?ticket=abc", "1.1", 303),
        None,
    )
    assert RedactQuery().filter(access)
    assert "abc" not in access.getMessage() and REDACTED in access.getMessage()
    config = uvicorn_log_config()
    for name in ("uvicorn.access", "uvicorn.error"):
        assert "redact_query" in config["loggers"][name]["filters"]
