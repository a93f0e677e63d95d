"""GET/POST /confirm/{token}: a page with a button (link scanners only GET), then confirm."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from digest.app.subscriptions import LinkUsed
from digest.web.pages import message, page

router = APIRouter()


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    """Show the confirm button; nothing changes on GET."""
    _, sub = request.app.state.rt.subscriptions.read_link("confirm", token)
    if sub.status == "active":
        raise LinkUsed("this subscription is already confirmed")
    return page(request, "confirm.html", email=sub.email, action=f"/confirm/{token}")


@router.post("/confirm/{token}", response_class=HTMLResponse)
async def confirm_post(request: Request, token: str) -> HTMLResponse:
    """Confirm the subscription and send the welcome email."""
    sub = await request.app.state.rt.subscriptions.confirm(token, now=datetime.now(UTC))
    return message(request, "You are subscribed",
                   f"Thank you: {sub.email} will receive the next digest. A welcome email "
                   "with your preferences link is on its way.")
