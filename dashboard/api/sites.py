"""`GET /sites/{uuid}/`: the static sites the worker deployed, read from the database.

Every app instance serves every site: the files are in `admin_private.site_files`
(`dashboard/data/sites.py`), not in one machine's folder. Only a well-formed public id
(8 lowercase letters or digits) of a deployed business is served, and only plain file
names of its own. The "claim this site" banner is decided here, at serve time, from
`qualified_businesses.claimed`: once the business has paid, the page is served without
it, with no rebuild. A suspended site answers 410.

Caching: every answer carries an `ETag` (the file's SHA-256, plus the claim state for
the page, whose banner depends on it) and a matching `If-None-Match` gets 304. The page
is `no-cache` (revalidated on every view, so a claim or a re-deploy shows at once);
assets are cached for an hour. Every answer has the sites' CSP (`site_host.SITE_CSP`):
no script at all, since the sites need none.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from dashboard.api.site_host import SITE_HEADERS
from dashboard.data.sites import SiteFile, load_site_file
from dashboard.runtime import get_runtime
from dashboard.worker.sites import ASSET_PATTERN, UUID_PATTERN, remove_banner

router = APIRouter()
NOT_FOUND = "No site here: check the address."
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=3600"


async def _live_file(uuid: str, name: str) -> SiteFile:
    if not UUID_PATTERN.match(uuid) or not ASSET_PATTERN.match(name):
        raise HTTPException(404, NOT_FOUND)
    found = await load_site_file(get_runtime().db, uuid, name)
    if found is None:
        raise HTTPException(404, NOT_FOUND)
    if found.site_status == "suspended":
        raise HTTPException(410, "This site has been taken down.")
    if found.content is None:
        raise HTTPException(404, NOT_FOUND)
    return found


def _answer(request: Request, body: bytes, media_type: str, etag: str, cache: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": cache, **SITE_HEADERS}
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/sites/{uuid}", include_in_schema=False)
async def site_without_slash(uuid: str) -> RedirectResponse:
    if not UUID_PATTERN.match(uuid):
        raise HTTPException(404, NOT_FOUND)
    return RedirectResponse(f"/sites/{uuid}/", status_code=308)


@router.get("/sites/{uuid}/")
async def site_page(uuid: str, request: Request) -> Response:
    page = await _live_file(uuid, "index.html")
    assert page.content is not None
    html = page.content.decode("utf-8")
    if page.claimed:
        html = remove_banner(html)
    etag = f'"{page.etag[:32]}-{"c" if page.claimed else "o"}"'
    return _answer(request, html.encode(), page.content_type, etag, PAGE_CACHE)


@router.get("/sites/{uuid}/{asset}", include_in_schema=False)
async def site_asset(uuid: str, asset: str, request: Request) -> Response:
    if asset == "index.html":  # the page itself, with its banner decided as above
        return await site_page(uuid, request)
    found = await _live_file(uuid, asset)
    assert found.content is not None
    return _answer(request, found.content, found.content_type, f'"{found.etag[:32]}"', ASSET_CACHE)
