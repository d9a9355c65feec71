"""`GET /sites/{uuid}/`: the static sites the worker built, served from `<DATA_DIR>/sites`.

Only a well-formed public id (8 lowercase letters or digits) of a deployed business
is served, and only plain file names directly inside its folder, so no path can
leave `<DATA_DIR>/sites`. The "claim this site" banner is decided here, at serve
time, from `qualified_businesses.claimed`: once the business has paid, the page is
served without it, with no rebuild. A suspended site answers 410.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from dashboard.runtime import get_runtime
from dashboard.worker.sites import UUID_PATTERN, remove_banner
from dashboard.worker.store import get_site_state

router = APIRouter()
ASSET_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(css|js|png|jpg|jpeg|svg|webp|ico)$")
NOT_FOUND = "No site here: check the address."


def _site_dir(uuid: str) -> Path:
    if not UUID_PATTERN.match(uuid):
        raise HTTPException(404, NOT_FOUND)
    return get_runtime().settings.data_dir / "sites" / uuid


async def _check_live(uuid: str) -> bool:
    """Whether the site is deployed and not suspended; returns `claimed`."""
    state = await get_site_state(get_runtime().api, uuid)
    if state is None:
        raise HTTPException(404, NOT_FOUND)
    if state.site_status == "suspended":
        raise HTTPException(410, "This site has been taken down.")
    return state.claimed


@router.get("/sites/{uuid}", include_in_schema=False)
async def site_without_slash(uuid: str) -> RedirectResponse:
    _site_dir(uuid)
    return RedirectResponse(f"/sites/{uuid}/", status_code=308)


@router.get("/sites/{uuid}/", response_class=HTMLResponse)
async def site_page(uuid: str) -> HTMLResponse:
    index = _site_dir(uuid) / "index.html"
    claimed = await _check_live(uuid)
    if not index.is_file():
        raise HTTPException(404, NOT_FOUND)
    html = index.read_text(encoding="utf-8")
    if claimed:
        html = remove_banner(html)
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/sites/{uuid}/{asset}", include_in_schema=False)
async def site_asset(uuid: str, asset: str) -> FileResponse:
    folder = _site_dir(uuid)
    if not ASSET_PATTERN.match(asset):
        raise HTTPException(404, NOT_FOUND)
    await _check_live(uuid)
    path = folder / asset
    if not path.is_file():
        raise HTTPException(404, NOT_FOUND)
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})
