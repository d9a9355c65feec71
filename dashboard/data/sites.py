"""Deployed sites in `admin_private.site_files`: written by the deployer, read by `/sites`.

A site is its files; `save_site` replaces all of a site's rows in one transaction, so
a reader sees the old site or the new one and never half of each. `load_site_file`
reads one file together with its business's claim and site status in one query,
so the route needs one round trip per request. Owner access (the private schema is
not exposed through PostgREST), on every mode's `DATABASE_URL`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from dashboard.backends.postgres import PostgresBackend

CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "svg": "image/svg+xml",
    "webp": "image/webp",
    "ico": "image/x-icon",
}

_LOAD_SQL = """
select q.claimed, q.site_status, f.content, f.content_type, f.etag
from public.qualified_businesses q
left join admin_private.site_files f on f.uuid = q.uuid and f.name = %s
where q.uuid = %s
"""


@dataclass(frozen=True)
class SiteFile:
    """One file of a site as the route serves it, with its business's state."""

    claimed: bool
    site_status: str
    #: None when the business exists but this file does not (never deployed, or removed).
    content: bytes | None
    content_type: str
    etag: str


def content_type_of(name: str) -> str:
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")


async def save_site(db: PostgresBackend, uuid: str, files: Mapping[str, bytes]) -> None:
    """Replace every file of site `uuid` with `files`, atomically."""
    rows = [
        (uuid, name, content, content_type_of(name), hashlib.sha256(content).hexdigest())
        for name, content in files.items()
    ]
    async with db.owner() as conn:
        await conn.execute("delete from admin_private.site_files where uuid = %s", (uuid,))
        async with conn.cursor() as cur:
            await cur.executemany(
                "insert into admin_private.site_files (uuid, name, content, content_type, etag)"
                " values (%s, %s, %s, %s, %s)",
                rows,
            )


async def remove_site(db: PostgresBackend, uuid: str) -> None:
    async with db.owner() as conn:
        await conn.execute("delete from admin_private.site_files where uuid = %s", (uuid,))


async def load_site_file(db: PostgresBackend, uuid: str, name: str) -> SiteFile | None:
    """The file and its business's state; None when no business has this uuid."""
    async with db.owner() as conn:
        cur = await conn.execute(_LOAD_SQL, (name, uuid))
        row = await cur.fetchone()
    if row is None:
        return None
    content = row["content"]
    return SiteFile(
        claimed=bool(row["claimed"]),
        site_status=str(row["site_status"]),
        content=bytes(content) if content is not None else None,
        content_type=str(row["content_type"] or content_type_of(name)),
        etag=str(row["etag"] or ""),
    )
