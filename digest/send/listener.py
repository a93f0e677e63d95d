"""The inbound SMTP listener of ``digest run`` (DIGEST_INBOUND__LISTEN), for operators
without a local MTA pipe: aiosmtpd in the service's own event loop.

It is no relay: RCPT is accepted only for the list address and for our signed bounce
addresses (550 for anything else, RFC 5321 §3.6.2 / §4.2.2 ``550 5.7.1``); a message over
the size limit gets ``552`` (RFC 5321 §4.5.3.1.10; SIZE is advertised, RFC 1870); when the store is
down the sender hears ``451`` and retries, as from the pipe's exit status 75.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from digest.errors import DeliveryError, StoreError

log = logging.getLogger("digest.inbound")
Handle = Callable[[bytes, Sequence[str], str], Awaitable[object]]


class InboundHandler:
    """aiosmtpd handler: ``accepts(address)`` says whether RCPT may name it; ``handle``
    gets the message's bytes, its envelope recipients and its envelope sender."""

    def __init__(self, accepts: Callable[[str], bool], handle: Handle) -> None:
        self.accepts = accepts
        self.handle = handle

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        """Accept only our own addresses: never relay."""
        if not self.accepts(address):
            return "550 5.7.1 no such mailbox here; this server does not relay"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Hand the message over; 451 when it cannot be handled now."""
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        try:
            await self.handle(data, list(envelope.rcpt_tos), str(envelope.mail_from or ""))
        except (StoreError, DeliveryError) as exc:
            log.warning('{"event": "inbound_deferred", "error": "%s"}',
                        str(exc).replace('"', "'"))
            return "451 4.3.0 cannot handle this message now; try again later"
        return "250 2.0.0 OK"


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (DIGEST_INBOUND__LISTEN) as a pair; ``[::1]:2526`` works too."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


async def start_listener(listen: str, handler: InboundHandler, *, max_bytes: int,
                         hostname: str) -> asyncio.Server:
    """Listen on ``listen`` (``host:port``) in the running loop; the caller closes the
    server. Raises OSError when the port cannot be bound."""
    from aiosmtpd.smtp import SMTP

    host, port = split_listen(listen)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, data_size_limit=max_bytes, enable_SMTPUTF8=True,
                     hostname=hostname, decode_data=False),
        host=host, port=port)
