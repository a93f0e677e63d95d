"""Ways back for a reader: "send me my link" (``/link``), answered the same way for every
address, and the undo offered on the unsubscribe page (``/resubscribe/<token>``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse

from digest.addresses import normalize_address
from digest.errors import AddressError
from digest.web.forms import FormError, check_form_token, clean, client_ip, form_token
from digest.web.pages import message, page
from digest.web.subscribe import after_answer, too_many

router = APIRouter()
Field = Annotated[str, Form()]


def _form(request: Request, *, status: int = 200, error: str | None = None) -> HTMLResponse:
    return page(request, "link.html", status=status, error=error,
                form_token=form_token(request.app.state.rt.secret))


@router.get("/link", response_class=HTMLResponse)
def link_page(request: Request) -> HTMLResponse:
    """The "send me my link" form: one address field."""
    return _form(request)


@router.post("/link", response_class=HTMLResponse)
def link_post(request: Request, tasks: BackgroundTasks, email: Field = "",
              form_token: Field = "") -> HTMLResponse:
    """Queue a manage-link mail; the answer is the same whether the address is subscribed,
    pending, gone or unknown (only an active subscriber gets mail)."""
    rt = request.app.state.rt
    web = rt.settings.web
    now = datetime.now(UTC)
    wait = rt.subscriptions.throttle(f"ip:{client_ip(request)}", limit=web.ip_limit,
                                     window=web.ip_window, now=now)
    if wait:
        return too_many(request, wait, "Too many requests from your network. Please try later.")
    try:
        check_form_token(rt.secret, form_token)
        address = normalize_address(clean(email, "email", max_len=320, required=True))
    except (FormError, AddressError) as exc:
        return _form(request, status=400, error=str(exc))
    request.app.state.worker.queue.ask_link(address, now=now)
    after_answer(request, tasks)
    return message(request, "Check your inbox",
                   f"If {address} is subscribed, an email with your links is on its way.")


@router.get("/resubscribe/{token}", response_class=HTMLResponse)
def resubscribe_page(request: Request, token: str) -> HTMLResponse:
    """Show the undo button; nothing changes on GET."""
    _, sub = request.app.state.rt.subscriptions.read_link("resubscribe", token)
    return page(request, "resubscribe.html", email=sub.email, action=f"/resubscribe/{token}")


@router.post("/resubscribe/{token}", response_class=HTMLResponse)
def resubscribe_post(request: Request, token: str) -> HTMLResponse:
    """Undo the unsubscribe the link was made for."""
    sub = request.app.state.rt.subscriptions.resubscribe(token, now=datetime.now(UTC))
    return message(request, "You are subscribed again",
                   f"{sub.email} will receive the next digest as before.")
