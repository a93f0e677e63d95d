"""GET/POST /feedback/{token}: the "more / less like this" links a digest carries."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from digest.web.pages import message, page

router = APIRouter()


@router.get("/feedback/{token}", response_class=HTMLResponse)
def feedback_page(request: Request, token: str) -> HTMLResponse:
    """Ask for the click; nothing is recorded on GET (link scanners)."""
    subscriptions = request.app.state.rt.subscriptions
    _, paper, signal = subscriptions.feedback_request(token)
    found = subscriptions.paper(paper)
    return page(request, "feedback.html", action=f"/feedback/{token}", signal=signal,
                title=found.title if found else paper)


@router.post("/feedback/{token}", response_class=HTMLResponse)
def feedback_post(request: Request, token: str) -> HTMLResponse:
    """Record the signal; the ranker reads it on the next edition."""
    _, _, signal = request.app.state.rt.subscriptions.record_feedback(token, now=datetime.now(UTC))
    word = "more" if signal == "more" else "fewer"
    return message(request, "Thanks", f"You will see {word} papers like this one.")
