"""GET / and POST /subscribe: the subscribe form, answered the same way for every address.

The request only validates the form and queues it (``digest.app.visitor_requests``): what
the address's state calls for (a confirmation mail, or nothing) happens after the answer,
so neither the page nor its timing can tell a known address from a new one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse

from digest.errors import AddressError
from digest.profiles import MAX_INTERESTS, ProfileError, validate_profile
from digest.web.forms import FormError, check_form_token, clean, client_ip, form_token
from digest.web.pages import message, page
from digest.web.picks import sample_context, zones_for

router = APIRouter()
Field = Annotated[str, Form()]


def _form(request: Request, *, status: int = 200, error: str | None = None,
          values: dict[str, str] | None = None) -> HTMLResponse:
    rt = request.app.state.rt
    values = values or {"frequency": "weekly", "timezone": "UTC"}
    return page(request, "subscribe.html", status=status, error=error, values=values,
                form_token=form_token(rt.secret), zones=zones_for(values.get("timezone", "")),
                **sample_context(request))


def too_many(request: Request, retry_after: int, text: str) -> HTMLResponse:
    return message(request, "Too many requests", text, status=429,
                   headers={"Retry-After": str(retry_after)})


@router.get("/", response_class=HTMLResponse)
def subscribe_page(request: Request) -> HTMLResponse:
    """The subscribe form: email, a line about what you read, how often."""
    return _form(request)


def after_answer(request: Request, tasks: BackgroundTasks) -> None:
    """Have the queued request done: the worker thread is woken, or (no worker running)
    the work runs once the answer has been sent."""
    from digest.web.worker import work_now

    worker = request.app.state.worker
    if worker.running:
        worker.wake()
    else:
        tasks.add_task(work_now, worker.queue)


@router.post("/subscribe", response_class=HTMLResponse)
def subscribe_post(request: Request, tasks: BackgroundTasks, email: Field = "",
                   interests: Field = "", frequency: Field = "weekly", timezone: Field = "UTC",
                   website: Field = "", form_token: Field = "") -> HTMLResponse:
    """Ask for a subscription; a confirmation email follows (double opt-in)."""
    rt = request.app.state.rt
    subscriptions, web = rt.subscriptions, rt.settings.web
    now = datetime.now(UTC)
    ip = client_ip(request)
    wait = subscriptions.throttle(f"ip:{ip}", limit=web.ip_limit, window=web.ip_window, now=now)
    if wait:
        return too_many(request, wait, "Too many sign-ups from your network. Please try later.")
    values = {"email": email if isinstance(email, str) else "",
              "interests": interests if isinstance(interests, str) else "",
              "frequency": frequency if isinstance(frequency, str) else "weekly",
              "timezone": timezone if isinstance(timezone, str) else "UTC"}
    try:
        check_form_token(rt.secret, form_token)
        if website:  # the honeypot: hidden from people, irresistible to bots
            raise FormError("this form could not be accepted")
        fields = {"email": clean(email, "email", max_len=320, required=True),
                  "interests": clean(interests, "interests", max_len=MAX_INTERESTS,
                                     required=True),
                  "frequency": clean(frequency, "frequency", max_len=10) or "weekly",
                  "timezone": clean(timezone, "time zone", max_len=64) or "UTC"}
        if fields["frequency"] not in ("daily", "weekly"):
            raise FormError("frequency: daily or weekly")
        data = validate_profile(fields)
    except (FormError, ProfileError, AddressError) as exc:
        return _form(request, status=400, error=str(exc), values=values)
    request.app.state.worker.queue.ask_subscribe(
        {"email": data.email, "interests": data.interests, "frequency": data.frequency,
         "timezone": data.timezone},
        now=now)
    after_answer(request, tasks)
    return page(request, "check_inbox.html", email=data.email,
                resend_minutes=max(1, web.confirm_resend // 60))
