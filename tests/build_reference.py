"""A fixed edition whose built messages are kept as the reference the delivery build path
must keep producing (tests/fixtures/build_reference/*.eml).

Everything that varies between runs is pinned: the clock (``NOW``), the subscribers' public
ids, and the moment tokens are signed (itsdangerous reads ``time.time()``; ``frozen_time``
pins it to ``NOW``). Feed text is hostile on purpose (markup, entities, quotes, non-ASCII,
a lone ``=_`` MIME-boundary lookalike) so that "outside text is data" is part of what is
compared.

The reference was first written with the build path of commit 6c492e8 (``Delivery.build``,
one store read per message), and written again when feedback links became short HMAC-tagged
tokens (``tokens.make_feedback_token``) instead of one full signed token each: checked then
that the new messages equal the old ones with each old feedback token swapped for the short
one naming the same reader, paper and signal (headers, text and HTML alike; three HTML parts
went from quoted-printable to 7bit, their longest line now under 990 characters). By:

    .venv/bin/python -m tests.build_reference tests/fixtures/build_reference
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from digest.editions import edition_for
from digest.models import Paper, SubscriberInput
from digest.store import ledger
from digest.store.papers import upsert_papers
from digest.store.subscribers import get_subscriber, update_subscriber, upsert_subscriber

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SECRET = "reference-secret-key-0123456789abcdef"
REFERENCE = Path(__file__).resolve().parent / "fixtures" / "build_reference"

TITLES = (
    "Mamba <script>alert('x')</script> state spaces",
    "Tom & Jerry: R&amp;D on \"quoted\" attention",
    "Zoë's Ünïcode tokenizer — fast, 漢字 too",
    "Plain title on long-context language models",
    "A =_digest_alternative_7c1f boundary lookalike in a title",
    "<b>bold</b> claims about {{ jinja }} and {% raw %} blocks",
)
NAMES = ("Ada Lovelace", "", "Zoë Ünïcode", 'Grace "Amazing" Hopper', "<img src=x>", "Alan Turing",
         "Émilie du Châtelet", "")


def reference_papers() -> list[Paper]:
    base = NOW - timedelta(days=2)
    out = []
    for i, title in enumerate(TITLES):
        out.append(Paper(
            id=f"2611.{20000 + i}", title=title,
            abstract=(f"Background sentence {i}. We propose a <em>method</em> & show it works "
                      f"with 12% gains. Code at https://github.com/x/y{i}. " * 3),
            authors=tuple(f"Author {k} <a@b>" for k in range(i % 5 + 1)),
            url=f"https://arxiv.org/abs/2611.{20000 + i}",
            pdf_url=f"https://arxiv.org/pdf/2611.{20000 + i}" if i % 2 else None,
            code_url="javascript:alert(1)" if i == 1 else (
                f"https://github.com/x/y{i}" if i % 3 == 0 else None),
            categories=("cs.LG",), published=base, sources=("test",),
            summary="An HF summary with <tags> & ampersands." if i == 2 else None,
            upvotes=(i * 37) % 120 or None, stars=500 if i == 4 else None,
            announce_type="new"))
    return out


def populate(engine: Engine) -> list[int]:
    """Papers, subscribers with pinned public ids, one planned delivery each; returns the
    subscriber ids in creation order."""
    papers = reference_papers()
    upsert_papers(engine, papers, now=NOW - timedelta(days=1))
    ids = []
    for n, name in enumerate(NAMES):
        email = "josé@example.org" if n == 6 else f"reader{n}@example.org"
        sid, _ = upsert_subscriber(engine, SubscriberInput(
            email=email, name=name, interests=f"interest {n} <b>with</b> “quotes”",
            frequency="daily" if n % 3 == 2 else "weekly"), now=NOW, status="active",
            origin="cli")
        update_subscriber(engine, sid, {"public_id": f"pub{n:04d}reference"})
        sub = get_subscriber(engine, subscriber_id=sid)
        assert sub is not None
        count = 0 if n == 7 else 1 + (n * 2) % len(papers)  # one quiet edition
        picks = [{"id": papers[(n + k) % len(papers)].id, "score": round(0.9 - k / 10, 2),
                  "reasons": [f"matches “{name or 'you'}” <i>{k}</i>", "trending & hot"]}
                 for k in range(count)]
        edition_id = ledger.ensure_edition(engine, edition_for(sub, NOW), now=NOW)
        ledger.add_delivery(engine, edition_id=edition_id, subscriber_id=sid, picks=picks,
                            quiet=count == 0, now=NOW)
        ids.append(sid)
    return ids


@contextmanager
def frozen_time() -> Iterator[None]:
    """itsdangerous stamps tokens with ``time.time()``: pin it to ``NOW`` meanwhile."""
    import itsdangerous.timed as timed

    class _Time:
        def __getattr__(self, name: str) -> Any:
            import time
            return getattr(time, name)

        @staticmethod
        def time() -> float:
            return NOW.timestamp()

    real = timed.time
    timed.time = _Time()  # type: ignore[assignment]
    try:
        yield
    finally:
        timed.time = real


def strip_volatile(data: bytes) -> bytes:
    """The message without its Date and Message-ID header lines (which may differ)."""
    lines = data.split(b"\r\n")
    return b"\r\n".join(x for x in lines
                        if not x.lower().startswith((b"date:", b"message-id:")))


def main(out: Path) -> None:
    import tempfile

    from digest.config import load_settings
    from digest.runtime import Runtime
    from digest.store import claims

    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(load_settings(database_url=f"sqlite:///{tmp}/ref.db", secret_key=SECRET,
                                   from_address="digest@example.org",
                                   outbox_dir=Path(tmp) / "outbox"))
        populate(rt.engine)
        out.mkdir(parents=True, exist_ok=True)
        with frozen_time():
            for claim in claims.peek_due(rt.engine, now=NOW):
                built = rt.delivery.build(claim, lambda: NOW)
                assert built.data is not None
                (out / f"{claim.subscriber_id:02d}.eml").write_bytes(built.data)
        rt.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
