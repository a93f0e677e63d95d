"""Data rights: export (emailed to the subscriber) and deletion (confirmed by email)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from digest.web.forms import client_ip
from digest.web.pages import message, page

router = APIRouter()


def _throttled(request: Request, kind: str, subscriber_id: int) -> HTMLResponse | None:
    """One email of each kind per subscriber per window, and the per-IP limit: a forwarded
    preferences link must not become a way to flood someone's inbox."""
    rt = request.app.state.rt
    web, now = rt.settings.web, datetime.now(UTC)
    ip = client_ip(request)
    throttle = rt.subscriptions.throttle
    wait = throttle(f"ip:{ip}", limit=web.ip_limit, window=web.ip_window, now=now) or \
        throttle(f"{kind}:{subscriber_id}", limit=1, window=web.confirm_resend, now=now)
    if not wait:
        return None
    return message(request, "Too many requests",
                   "We sent this email a short while ago; please check your inbox or try "
                   "again later.", status=429, headers={"Retry-After": str(wait)})


@router.post("/preferences/{token}/export", response_class=HTMLResponse)
async def export_post(request: Request, token: str) -> HTMLResponse:
    """Email the subscriber everything we store about them, as JSON."""
    subscriptions = request.app.state.rt.subscriptions
    _, sub = subscriptions.read_link("preferences", token)
    refused = _throttled(request, "export", sub.id)
    if refused:
        return refused
    await subscriptions.send_export(sub)
    return message(request, "Export sent",
                   f"We emailed a copy of your data to {sub.email}.")


@router.post("/preferences/{token}/delete", response_class=HTMLResponse)
async def delete_request(request: Request, token: str) -> HTMLResponse:
    """Email a deletion link: only the inbox owner may delete, not whoever holds a digest."""
    subscriptions = request.app.state.rt.subscriptions
    _, sub = subscriptions.read_link("preferences", token)
    refused = _throttled(request, "delete", sub.id)
    if refused:
        return refused
    await subscriptions.request_deletion(sub)
    return message(request, "Check your inbox",
                   f"We emailed a link to {sub.email}; open it to delete your data.")


@router.get("/delete/{token}", response_class=HTMLResponse)
def delete_page(request: Request, token: str) -> HTMLResponse:
    """Show the delete button; nothing changes on GET."""
    _, sub = request.app.state.rt.subscriptions.read_link("delete", token)
    return page(request, "delete.html", email=sub.email, action=f"/delete/{token}")


@router.post("/delete/{token}", response_class=HTMLResponse)
def delete_post(request: Request, token: str) -> HTMLResponse:
    """Erase everything; only a hash of the address stays, so it is never mailed again."""
    erased = request.app.state.rt.subscriptions.delete(token, now=datetime.now(UTC))
    return message(request, "Your data is deleted",
                   f"Everything we stored about {erased} is gone. We will not email this "
                   "address again.")
