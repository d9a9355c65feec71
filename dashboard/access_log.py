"""The server log's request lines carry no secrets: uvicorn's access log (`uvicorn.access`)
and its websocket lines (`uvicorn.error`: `"WebSocket /admin/_nicegui_ws/...?client_id=..."`)
pass through `RedactQuery`, which replaces the value of every query parameter that
names a secret or a capability (one-time sign-in tickets, NiceGUI client, document and
tab ids, socket ids, tokens, keys, codes, signatures, passwords) with `[redacted]`.
Other parameters stay readable (`?page=2`), as does the path.

`uvicorn_log_config()` is uvicorn's default logging config with the filter on both
loggers; `serve` passes it to `uvicorn.run`.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

REDACTED = "[redacted]"
#: Query parameter names whose values never reach the log (matched in full, any case).
HIDDEN_PARAMETERS = (
    r"ticket|client_id|document_id|tab_id|old_tab_id|sid|token|[a-z_]*_token|code|secret"
    r"|[a-z_]*_secret|key|[a-z_]*_key|password|signature|sig|state|auth|jwt|session"
)
_QUERY_VALUE = re.compile(rf"(?i)([?&](?:{HIDDEN_PARAMETERS})=)[^&\s\"#]*")


def redact(text: str) -> str:
    """`text` with the value of every secret query parameter replaced."""
    return _QUERY_VALUE.sub(rf"\g<1>{REDACTED}", text)


class RedactQuery(logging.Filter):
    """Rewrites a record's message and string arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def uvicorn_log_config() -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_query"] = {"()": f"{__name__}.RedactQuery"}
    for name in ("uvicorn.access", "uvicorn.error"):
        config["loggers"][name].setdefault("filters", []).append("redact_query")
    return config
