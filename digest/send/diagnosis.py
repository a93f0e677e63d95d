"""Why no SMTP session could be opened, in one line that names the setting to change.

Each failure to connect, greet, secure or log in becomes a ``DeliveryError`` with fault
``connection`` and a ``kind`` (``dns``, ``refused``, ``unreachable``, ``no-greeting``,
``tls-mismatch``, ``certificate``, ``no-starttls``, ``auth``, ``closed``,
``bad-greeting``, ``malformed``); the delivery loop stops the run as a configuration error
when every connection fails the same way.
"""

from __future__ import annotations

import errno
import socket
import ssl
from typing import TypeVar

import aiosmtplib

from digest.config import SmtpSettings
from digest.errors import DeliveryError

HOST_PORT = "DIGEST_SMTP__HOST and DIGEST_SMTP__PORT"
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}
E = TypeVar("E", bound=BaseException)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _first(chain: list[BaseException], kind: type[E]) -> E | None:
    return next((e for e in chain if isinstance(e, kind)), None)


def connection_error(exc: BaseException, s: SmtpSettings) -> DeliveryError:
    """The diagnosis of ``exc``, raised while connecting to ``s.host:s.port``, greeting,
    securing (STARTTLS or implicit TLS) or logging in."""
    where = f"{s.host}:{s.port}"
    chain = _causes(exc)
    refused_reply = _first(chain, aiosmtplib.SMTPResponseException)
    text: str
    kind: str
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        kind = "auth"
        text = (f"the SMTP server {where} refused the login as {s.username!r}: {exc.code} "
                f"{' '.join(exc.message.split())}; check DIGEST_SMTP__USERNAME and "
                "DIGEST_SMTP__PASSWORD")
    elif (gai := _first(chain, socket.gaierror)) is not None:
        kind = "dns"
        text = (f"cannot resolve the SMTP host {s.host!r} ({getattr(gai, 'strerror', gai)}); "
                "check DIGEST_SMTP__HOST")
    elif _first(chain, ConnectionRefusedError) is not None:
        kind = "refused"
        text = (f"nothing accepts connections on {where} (connection refused); check "
                f"{HOST_PORT}")
    elif (cert := _first(chain, ssl.SSLCertVerificationError)) is not None:
        kind = "certificate"
        reason = getattr(cert, "verify_message", "") or str(cert)
        text = (f"the TLS certificate of {s.host} is not trusted ({reason}); check "
                "DIGEST_SMTP__HOST (it must match the certificate), or set "
                "DIGEST_SMTP__VALIDATE_CERTS=false for a relay with a self-signed one")
    elif _first(chain, ssl.SSLError) is not None:
        kind = "tls-mismatch"
        if s.security == "tls":
            text = (f"{where} does not answer in TLS: it speaks plain SMTP (a STARTTLS or "
                    "plain port such as 587 or 25); set DIGEST_SMTP__SECURITY=starttls, or "
                    "DIGEST_SMTP__PORT to the server's implicit-TLS port (usually 465)")
        else:
            text = (f"the TLS handshake with {where} failed ({_first(chain, ssl.SSLError)}); "
                    "check DIGEST_SMTP__SECURITY and DIGEST_SMTP__PORT")
    elif isinstance(exc, aiosmtplib.SMTPConnectTimeoutError) and _first(
            chain[1:], aiosmtplib.SMTPTimeoutError) is not None:
        # Connected, then silence: the server waits for a TLS ClientHello (port 465).
        kind = "no-greeting" if s.security != "tls" else "tls-mismatch"
        text = (f"{where} accepted the connection but sent no SMTP greeting within "
                f"{s.connect_timeout:g} s: it looks like an implicit-TLS port (usually 465); "
                "set DIGEST_SMTP__SECURITY=tls, or DIGEST_SMTP__PORT to the server's "
                "STARTTLS or plain port (587 or 25)")
        if s.security == "tls":
            text = (f"{where} accepted the connection but sent no SMTP greeting within "
                    f"{s.connect_timeout:g} s after TLS; check DIGEST_SMTP__PORT and "
                    "DIGEST_SMTP__SECURITY")
    elif _first(chain, TimeoutError) is not None or any(
            getattr(e, "errno", None) in _UNREACHABLE for e in chain):
        kind = "unreachable"
        text = (f"no answer from {where} within {s.connect_timeout:g} s (a firewall, or the "
                f"wrong host); check {HOST_PORT}")
    elif isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc).upper():
        kind = "no-starttls"
        text = (f"{where} does not offer STARTTLS; set DIGEST_SMTP__SECURITY=tls for an "
                "implicit-TLS port or none for a plain one, or DIGEST_SMTP__PORT to the "
                "STARTTLS port (usually 587)")
    elif isinstance(exc, aiosmtplib.SMTPException) and "AUTH" in str(exc).upper():
        kind = "auth"
        text = (f"{where} offers no login (AUTH) on this connection, but "
                "DIGEST_SMTP__USERNAME is set; many servers offer it only after STARTTLS "
                "(DIGEST_SMTP__SECURITY=starttls), or unset DIGEST_SMTP__USERNAME")
    elif refused_reply is not None and refused_reply.code == -1:
        kind = "malformed"
        text = (f"{where} sent a malformed reply ({' '.join(refused_reply.message.split())}): "
                "the server breaks RFC 5321 §4.2; check DIGEST_SMTP__HOST/PORT point at an "
                "SMTP server")
    elif isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        kind = "bad-greeting"
        text = (f"{where} refuses SMTP sessions from us: {exc.code} "
                f"{' '.join(exc.message.split())}; check {HOST_PORT} and whether this "
                "machine may send through it")
    elif _first(chain, aiosmtplib.SMTPServerDisconnected) is not None or _first(
            chain, ConnectionError) is not None:
        kind = "closed"
        text = (f"{where} closed the connection before the session began; check "
                f"{HOST_PORT} and DIGEST_SMTP__SECURITY (an implicit-TLS port closes on "
                "plain text)")
    else:
        kind = "other"
        text = f"cannot open an SMTP session with {where}: {type(exc).__name__}: {exc}"
    code = refused_reply.code if refused_reply is not None and refused_reply.code > 0 else None
    if code is not None and 400 <= code < 500:
        # "421 too busy" at the greeting, "454 4.7.0 too many login attempts": the server
        # says try later (RFC 5321 §4.2.1), which is no configuration mistake.
        return DeliveryError(f"{text} (temporary: retrying later)", fault="transient",
                             kind=kind, code=code)
    return DeliveryError(text, fault="connection", kind=kind, code=code)
