"""The List-Unsubscribe URL: one-click POST (RFC 8058) or a page with a button."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from digest.web.pages import page

router = APIRouter()


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    """Show the unsubscribe button; nothing changes on GET."""
    _, sub = request.app.state.rt.subscriptions.read_link("unsubscribe", token)
    return page(request, "unsubscribe.html", email=sub.email, action=f"/unsubscribe/{token}",
                done=sub.status not in ("active", "pending"), undo_url=None)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_post(
    request: Request, token: str,
    one_click: Annotated[str, Form(alias="List-Unsubscribe")] = "",
) -> HTMLResponse:
    """Unsubscribe at once: 200, no redirect, no cookie; repeating is harmless. The page
    offers an undo (a signed link) to a reader who was active."""
    subscriptions, now = request.app.state.rt.subscriptions, datetime.now(UTC)
    sub = await subscriptions.unsubscribe(token, now=now)
    undo = subscriptions.undo_url(sub, now=now)
    return page(request, "unsubscribe.html", email=sub.email, action=f"/unsubscribe/{token}",
                done=True, undo_url=undo and urlsplit(undo).path)
