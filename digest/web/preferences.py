"""GET/POST /preferences/{token}: what a subscriber reads and how often they hear from us."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from digest.models import Subscriber
from digest.profiles import MAX_INTERESTS, WEEKDAYS, ProfileError
from digest.web.forms import FormError, clean, lines, number
from digest.web.pages import page
from digest.web.picks import preferences_context

router = APIRouter()
Field = Annotated[str, Form()]


def _values(sub: Subscriber) -> dict[str, Any]:
    return {"interests": sub.profile.interests, "seed_papers": "\n".join(sub.profile.seed_papers),
            "frequency": sub.frequency, "weekday": WEEKDAYS[sub.weekday], "hour": sub.hour,
            "timezone": sub.timezone, "papers_per_email": sub.papers_per_email,
            "quiet_week": sub.quiet_week}


def _page(request: Request, token: str, sub: Subscriber, *, status: int = 200,
          error: str | None = None, saved: bool = False,
          values: dict[str, Any] | None = None, checking: bool = False) -> HTMLResponse:
    values = values or _values(sub)
    extra = preferences_context(request, sub, str(values["interests"]),
                                str(values["timezone"]), checking=checking)
    return page(request, "preferences.html", status=status, error=error, saved=saved,
                email=sub.email, status_word=sub.status, weekdays=WEEKDAYS,
                values=values, action=f"/preferences/{token}", **extra)


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(request: Request, token: str) -> HTMLResponse:
    """The preferences form, filled in with the current values."""
    _, sub = request.app.state.rt.subscriptions.read_link("preferences", token)
    return _page(request, token, sub)


@router.post("/preferences/{token}", response_class=HTMLResponse)
def preferences_post(request: Request, token: str, interests: Field = "",
                           seed_papers: Field = "", frequency: Field = "weekly",
                           weekday: Field = "monday", hour: Field = "8",
                           timezone: Field = "UTC", papers_per_email: Field = "10",
                           quiet_week: Field = "send") -> HTMLResponse:
    """Save the preferences; a bad field re-shows the form with the reason (400)."""
    subscriptions = request.app.state.rt.subscriptions
    _, sub = subscriptions.read_link("preferences", token)
    raw = {"interests": interests, "seed_papers": seed_papers, "frequency": frequency,
           "weekday": weekday, "hour": hour, "timezone": timezone,
           "papers_per_email": papers_per_email, "quiet_week": quiet_week}
    try:
        form: dict[str, Any] = {
            "interests": clean(interests, "interests", max_len=MAX_INTERESTS, required=True),
            "seed_papers": lines(clean(seed_papers, "seed papers", max_len=16000,
                                       multiline=True), "seed papers"),
            "frequency": clean(frequency, "frequency", max_len=10),
            "weekday": clean(weekday, "weekday", max_len=10),
            "hour": number(clean(hour, "hour", max_len=2), "hour", low=0, high=23),
            "timezone": clean(timezone, "timezone", max_len=64, required=True),
            "papers_per_email": number(clean(papers_per_email, "papers per email", max_len=2),
                                       "papers per email", low=1, high=50),
            "quiet_week": clean(quiet_week, "quiet week", max_len=10),
        }
        sub = subscriptions.update_preferences(sub, form)
    except (FormError, ProfileError) as exc:
        shown = {k: v if isinstance(v, str) else "" for k, v in raw.items()}
        return _page(request, token, sub, status=400, error=str(exc), values=shown)
    return _page(request, token, sub, saved=True)


@router.post("/preferences/{token}/check", response_class=HTMLResponse)
def preferences_check(request: Request, token: str, interests: Field = "",
                      seed_papers: Field = "", frequency: Field = "weekly",
                      weekday: Field = "monday", hour: Field = "8", timezone: Field = "UTC",
                      papers_per_email: Field = "10", quiet_week: Field = "send") -> HTMLResponse:
    """The form as typed (nothing saved) with this week's picks for the typed interests."""
    _, sub = request.app.state.rt.subscriptions.read_link("preferences", token)
    raw = {"interests": interests, "seed_papers": seed_papers, "frequency": frequency,
           "weekday": weekday, "hour": hour, "timezone": timezone,
           "papers_per_email": papers_per_email, "quiet_week": quiet_week}
    shown = {k: v[:MAX_INTERESTS] if isinstance(v, str) else "" for k, v in raw.items()}
    return _page(request, token, sub, values=shown, checking=True)
