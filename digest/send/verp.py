"""VERP bounce addresses: the envelope sender of every message names what it was, signed.

``bounces+d42-k3v7…@bounce.example.org`` says "delivery row 42"; ``n7-…`` says "a notice to
subscriber 7". A DSN goes back to the envelope sender (RFC 5321 §4.5.5, RFC 3464 §2), so
the address it arrives at identifies the row without trusting a word of the DSN's text.
The token is short and case-blind (RFC 5321 §4.5.3.1.1: a local part is at most 64 octets,
and some relays lowercase it): base32 of an HMAC-SHA256 truncated to 80 bits, keyed by the
secret through itsdangerous' key derivation with the purpose ``bounce`` as salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

from itsdangerous import Signer

Kind = Literal["delivery", "notice"]
PURPOSE = "bounce"
_LETTER: dict[Kind, str] = {"delivery": "d", "notice": "n"}
_KIND: dict[str, Kind] = {"d": "delivery", "n": "notice"}
_TOKEN = re.compile(r"([dn])([1-9][0-9]{0,18})-([a-z2-7]{16})")
MAX_LOCAL = 64  # RFC 5321 §4.5.3.1.1
TOKEN_ROOM = 1 + 19 + 1 + 16  # letter, id, dash, MAC: the longest token
DELIMITER = "+"  # Postfix recipient_delimiter, Exim local_part_suffix, qmail "-" aside


@dataclass(frozen=True, slots=True)
class BounceRef:
    """What a bounce address names: a delivery row's id, or the subscriber id a notice
    went to."""

    kind: Kind
    id: int


def check_base(base: str) -> str:
    """``base`` (``bounces@bounce.example.org``) if a VERP address built on it stays
    RFC 5321-valid; ValueError otherwise."""
    local, at, domain = base.rpartition("@")
    if (not at or not re.fullmatch(r"[A-Za-z0-9._-]+", local)
            or not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", domain)):
        raise ValueError("must be a plain ASCII address like bounces@bounce.example.org")
    if len(local) + len(DELIMITER) + TOKEN_ROOM > MAX_LOCAL:
        raise ValueError(f"the local part may have at most "
                         f"{MAX_LOCAL - len(DELIMITER) - TOKEN_ROOM} characters")
    return base


@dataclass(frozen=True, slots=True)
class Verp:
    """Builds and reads bounce addresses under ``base`` (the DIGEST_BOUNCE_ADDRESS
    setting), signed with ``secret``."""

    base: str
    secret: str

    def _mac(self, text: str) -> str:
        key = Signer(self.secret, salt=f"digest.{PURPOSE}").derive_key()
        mac = hmac.new(key, text.encode("ascii"), hashlib.sha256).digest()[:10]
        return base64.b32encode(mac).decode("ascii").lower()

    def token(self, ref: BounceRef) -> str:
        """``d42-<16 base32 chars>``: at most 37 characters."""
        text = f"{_LETTER[ref.kind]}{ref.id}"
        return f"{text}-{self._mac(text)}"

    def address(self, kind: Kind, ident: int) -> str:
        """The envelope sender for delivery row (or notice to subscriber) ``ident``."""
        local, _, domain = self.base.rpartition("@")
        return f"{local}{DELIMITER}{self.token(BounceRef(kind, ident))}@{domain}"

    def read(self, address: str) -> BounceRef | None:
        """What ``address`` names when it is one of our bounce addresses with a good
        signature (compared in constant time); None for any other address, a forged or
        altered token. Case-blind, like the relays it passes through."""
        local, _, domain = address.strip().strip("<>").rpartition("@")
        base_local, _, base_domain = self.base.rpartition("@")
        prefix = (base_local + DELIMITER).lower()
        if domain.lower().rstrip(".") != base_domain.lower() or not local.lower().startswith(
                prefix):
            return None
        found = _TOKEN.fullmatch(local[len(prefix):].lower())
        if found is None:
            return None
        letter, ident, mac = found.groups()
        if not hmac.compare_digest(mac, self._mac(f"{letter}{ident}")):
            return None
        return BounceRef(_KIND[letter], int(ident))

    def find(self, addresses: list[str]) -> BounceRef | None:
        """The first of ``addresses`` that is a good bounce address, read."""
        for address in addresses:
            ref = self.read(address)
            if ref is not None:
                return ref
        return None
