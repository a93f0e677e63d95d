"""The FastAPI app factory: routes by concern, security headers, errors as HTML pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from digest.app.subscriptions import LinkGone, LinkUsed
from digest.app.visitor_requests import VisitorQueue
from digest.errors import DeliveryError, StoreError, TokenError
from digest.profiles import ProfileError
from digest.runtime import Runtime
from digest.tokens import ExpiredToken
from digest.web import (
    confirm,
    feedback,
    preferences,
    reader,
    rights,
    static,
    subscribe,
    unsubscribe,
    ways_back,
)
from digest.web.forms import FormError
from digest.web.limits import BodyLimit
from digest.web.pages import message
from digest.web.worker import QueueWorker

log = logging.getLogger("digest.web")

MAX_BODY = 64 * 1024  # the largest form (preferences) is a few kB

SECURITY_HEADERS = {
    # Our own stylesheet and script only (no inline ones); forms post back to us.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Tokens live in our URLs: never leak them to another site through the Referer.
    # (Not "no-referrer": Chromium then sends "Origin: null" on our own form posts.)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_origin(request: Request, base_url: str) -> bool:
    """True unless the browser says the POST comes from another site."""
    site = request.headers.get("sec-fetch-site")
    if site == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:  # not a browser, or an old one: the form token still applies
        return True
    if origin == "null":  # privacy modes send it; trust only the browser's own verdict
        return site in ("same-origin", "none")
    return origin.lower() in {_origin(base_url), _origin(str(request.base_url))}


def create_app(rt: Runtime) -> FastAPI:
    """The subscription web app over the runtime's use cases (routes read ``app.state.rt``)."""
    worker = QueueWorker(VisitorQueue(rt.engine, rt.subscriptions))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker.start()  # queued sign-ups and link requests are done beside the server
        try:
            yield
        finally:
            worker.stop()

    app = FastAPI(title=f"{rt.settings.product_name} subscriptions", docs_url=None,
                  redoc_url=None, lifespan=lifespan)
    rt.secret  # noqa: B018 - fail now, not on the first link, when the secret is missing
    app.state.rt = rt
    app.state.worker = worker
    for module in (subscribe, confirm, unsubscribe, preferences, feedback, rights, ways_back,
                   static, reader):
        app.include_router(module.router)

    def too_large(request: Request) -> Response:
        response = message(request, "Too large", "That request is larger than any form here.",
                           status=413)
        response.headers.update(SECURITY_HEADERS)
        return response

    # Outermost last: the client address is settled first, then the body is bounded.
    app.add_middleware(BodyLimit, max_body=MAX_BODY, too_large=too_large)
    trusted = rt.settings.web.proxy_list()
    if trusted:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)

    @app.get("/healthz", response_class=JSONResponse)
    def healthz() -> JSONResponse:
        """The process answers and the database is reachable (503 otherwise)."""
        if not rt.status.healthy():
            log.warning("health check failed: the database does not answer")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.middleware("http")
    async def guard(request: Request,
                    call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response: Response
        if request.method == "POST" and not request.url.path.startswith("/unsubscribe/"):
            # CSRF: a browser POST from another site carries its Origin; refuse it. One-click
            # unsubscribe is exempt: mail providers post it from their own servers.
            if not _same_origin(request, rt.settings.base_url):
                response = message(request, "Not allowed",
                                   "This form must be sent from our own page.", status=403)
            else:
                response = await call_next(request)
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(ExpiredToken)
    async def expired(request: Request, exc: ExpiredToken) -> Response:
        return message(request, "Link expired", f"{exc}. Please ask for a new one.", status=410)

    @app.exception_handler(LinkGone)
    async def gone(request: Request, exc: LinkGone) -> Response:
        return message(request, "Subscription not found", f"{exc}.", status=410)

    @app.exception_handler(LinkUsed)
    async def used(request: Request, exc: LinkUsed) -> Response:
        return message(request, "Link already used", f"{exc}.", status=410)

    @app.exception_handler(TokenError)
    async def bad_token(request: Request, exc: TokenError) -> Response:
        return message(request, "Invalid link",
                       f"{exc}. Check that you copied the whole link from the email.", status=400)

    @app.exception_handler(FormError)
    @app.exception_handler(ProfileError)
    async def bad_form(request: Request, exc: Exception) -> Response:
        return message(request, "Please check the form", str(exc), status=400)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return message(request, "Please check the form",
                       "The request was not understood: a field is missing or malformed.",
                       status=400)

    @app.exception_handler(DeliveryError)
    async def mail_failed(request: Request, exc: DeliveryError) -> Response:
        log.warning("notice not sent: %s", exc)
        return message(request, "Email not sent",
                       "We could not send the email just now. Please try again later.",
                       status=503, headers={"Retry-After": "300"})

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, exc: StoreError) -> Response:
        log.warning("database error: %s", exc)
        return message(request, "Temporarily unavailable",
                       "We cannot reach our database just now. Please try again in a few "
                       "minutes.", status=503, headers={"Retry-After": "120"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        return message(request, titles.get(exc.status_code, "Error"),
                       str(exc.detail), status=exc.status_code,
                       headers=dict(exc.headers) if exc.headers else None)

    return app
