"""An ASGI guard in front of the app: the request-body limit, counted on the bytes that
arrive (a chunked body has no Content-Length to check)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Reads a request's whole body (at most ``max_body`` bytes) before the app sees it;
    past that, or with a larger Content-Length, answers ``too_large(request)`` (a 413) and
    the app is never called. The forms here are small, so buffering them costs nothing."""

    def __init__(self, app: ASGIApp, *, max_body: int,
                 too_large: Callable[[Request], Response]) -> None:
        self.app = app
        self.max_body = max_body
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its body buffered, or answer 413 (see the class)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.too_large(Request(scope, receive))
        # The client may still be sending: say so, and let the server close the connection.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

