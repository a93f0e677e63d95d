"""Reading a digest elsewhere: GET /view/{token} (one edition in a browser, the email's own
HTML), GET /feed/{token} (the reader's private Atom feed) and POST
/preferences/{token}/feed (a new feed link; the old one stops working)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from digest.errors import TokenError
from digest.web.atom import atom_feed
from digest.web.pages import fragment
from digest.web.preferences import preferences_page

router = APIRouter()

# The email's HTML carries its styles inline (mail clients need them): allow those, and
# nothing else — no scripts, images only over https.
VIEW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@router.get("/view/{token}", response_class=HTMLResponse)
def view(request: Request, token: str) -> HTMLResponse:
    """The edition the link names, exactly as this reader's email showed it (404 if it was
    never sent to them)."""
    rt = request.app.state.rt
    payload, sub = rt.subscriptions.read_link("view", token)
    key = payload.get("e")
    if not isinstance(key, str):
        raise TokenError("this link is not valid")
    rendered = rt.reader.view(sub, key)
    if rendered is None:
        raise HTTPException(404, "This edition was not sent to you.")
    return HTMLResponse(rendered.html, headers={"Content-Security-Policy": VIEW_CSP})


@router.get("/feed/{token}")
def feed(request: Request, token: str) -> Response:
    """The reader's editions as an Atom feed (application/atom+xml)."""
    rt = request.app.state.rt
    payload, sub = rt.subscriptions.read_link("feed", token)
    now = datetime.now(UTC)
    if not rt.reader.feed_key_is_current(sub, payload.get("k"), now=now):
        raise TokenError("this feed link was replaced by a newer one")
    entries = rt.reader.feed_entries(sub)
    contents = [fragment("feed_entry.html", papers=e.papers, view_url=e.view_url)
                for e in entries]
    base = rt.settings.base_url.rstrip("/")
    body = atom_feed(title=f"{rt.settings.product_name}: your papers",
                     self_url=rt.reader.feed_url(sub, now=now),
                     home_url=base + "/", feed_name=f"{base}/subscriber/{sub.id}",
                     entries=entries, contents=contents, now=now)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.post("/preferences/{token}/feed", response_class=HTMLResponse)
def new_feed(request: Request, token: str) -> HTMLResponse:
    """Replace the reader's feed link (revoking the old one) and show the preferences."""
    rt = request.app.state.rt
    _, sub = rt.subscriptions.read_link("preferences", token)
    rt.reader.new_feed_url(sub, now=datetime.now(UTC))
    return preferences_page(request, token)
