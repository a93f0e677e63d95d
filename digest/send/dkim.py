"""DKIM signing (optional extra ``digest[dkim]``, dkimpy) of the exact bytes we transmit.

The signature covers the headers receivers judge a bulk sender by, including the RFC 8058
one-click unsubscribe pair, so nobody can strip or replace them in transit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from digest.config import SmtpSettings
from digest.errors import ConfigError, DeliveryError

SIGNED_HEADERS = (b"From", b"To", b"Subject", b"Date", b"Message-ID", b"List-Unsubscribe",
                  b"List-Unsubscribe-Post")

DkimSigner = Callable[[bytes], bytes]


def make_signer(key_pem: bytes, *, selector: str, domain: str) -> DkimSigner:
    """A function that prepends a DKIM-Signature header to a CRLF message."""
    try:
        import dkim
    except ImportError as exc:  # the extra is not installed
        raise ConfigError("DIGEST_SMTP__DKIM_KEY_PATH: DKIM needs the extra: "
                          "pip install 'digest[dkim]'") from exc

    def sign(data: bytes) -> bytes:
        try:
            header: bytes = dkim.sign(data, selector.encode(), domain.encode(), key_pem,
                                      canonicalize=(b"relaxed", b"relaxed"),
                                      include_headers=list(SIGNED_HEADERS))
        except dkim.DKIMException as exc:
            raise DeliveryError(f"DKIM signing failed: {exc}") from exc
        return header + data

    return sign


def signer_from_settings(smtp: SmtpSettings, *, from_address: str) -> DkimSigner | None:
    """The configured signer, or None when DKIM is off; ConfigError names a bad setting."""
    if smtp.dkim_key_path is None:
        return None
    if not smtp.dkim_selector:
        raise ConfigError("DIGEST_SMTP__DKIM_SELECTOR: required when DKIM_KEY_PATH is set")
    path = Path(smtp.dkim_key_path)
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"DIGEST_SMTP__DKIM_KEY_PATH: cannot read {path}: "
                          f"{exc.strerror}") from exc
    if b"PRIVATE KEY" not in key:
        raise ConfigError(f"DIGEST_SMTP__DKIM_KEY_PATH: {path} is not a PEM private key")
    domain = smtp.dkim_domain or from_address.rsplit("@", 1)[1]
    return make_signer(key, selector=smtp.dkim_selector, domain=domain)
