"""Use case: preview — what each subscriber (or free-text interests) would get now,
rendered and composed, written as .html/.txt/.eml, with SpamAssassin's verdict. Sends nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from digest.app.digest_mail import DigestMail
from digest.app.rankers import Pool, Rankers
from digest.editions import FIRST_EDITION_LOOKBACK, edition_for
from digest.models import Profile, Ranking, Subscriber
from digest.render.types import RenderedEmail
from digest.store import Engine
from digest.store.subscribers import get_subscriber, list_subscribers
from digest.text import clean_interests

PreviewItem = tuple[Subscriber, RenderedEmail, EmailMessage]


@dataclass(frozen=True, slots=True)
class Previews:
    """Builds previews over the store with the product's own ranker and digest builder."""

    engine: Engine
    rankers: Rankers
    mail: DigestMail

    def build(self, *, subscriber_email: str | None = None, interests: str | None = None,
              now: datetime, on_pool: Callable[[Pool], None] | None = None
              ) -> list[PreviewItem]:
        """What each chosen subscriber would get at ``now``: one stored subscriber, a made-up
        one with these ``interests``, or (neither given) every active subscriber.
        ``on_pool`` hears the candidate pool (how many papers, whether the cap cut it)."""
        if interests is not None:
            subs = [Subscriber(id=0, email="preview@example.org", name="Preview",
                               profile=Profile(interests=clean_interests(interests)))]
        elif subscriber_email is not None:
            found = get_subscriber(self.engine, email=subscriber_email)
            subs = [found] if found else []
        else:
            subs = list_subscribers(self.engine, status="active")
        candidates = self.rankers.pool(now - FIRST_EDITION_LOOKBACK)
        if on_pool is not None:
            on_pool(candidates)
        pool = candidates.papers
        ranker = self.rankers.over(pool, subs) if pool else None
        out = []
        for sub in subs:
            ranking = self.rankers.rank(ranker, sub, now=now) if ranker else Ranking(quiet=True)
            rendered, message = self.mail.compose(sub, ranking,
                                                  edition_key=edition_for(sub, now).key, now=now)
            out.append((sub, rendered, message))
        return out


def write_preview(out_dir: Path, rendered: RenderedEmail, message: EmailMessage, stem: str) -> list[Path]:
    """Write ``stem.html``, ``stem.txt`` and ``stem.eml`` (exact wire bytes) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "preview"
    paths = [out_dir / f"{safe}.html", out_dir / f"{safe}.txt", out_dir / f"{safe}.eml"]
    paths[0].write_text(rendered.html, encoding="utf-8")
    paths[1].write_text(rendered.text, encoding="utf-8")
    paths[2].write_bytes(message.as_bytes())
    return paths


def preview_stem(subscriber: Subscriber) -> str:
    """The file stem of a subscriber's preview files: ``<id>-<address>``."""
    return f"{subscriber.id}-{subscriber.email}"


@dataclass(frozen=True, slots=True)
class SpamReport:
    """SpamAssassin's score and the names of the tests that fired."""

    score: float
    tests: tuple[str, ...]


def spam_score(raw: bytes, *, timeout: float = 120.0) -> SpamReport | None:
    """SpamAssassin's offline verdict on a message, or None when it is not installed."""
    exe = shutil.which("spamassassin")
    if exe is None:
        return None
    done = subprocess.run(
        [exe, "--local", "--test-mode"], input=raw, capture_output=True, timeout=timeout,
        check=False,
    )
    out = done.stdout.decode("utf-8", "replace")
    status = r"X-Spam-Status: \w+, score=(-?[\d.]+) required=[\d.]+ tests=([^\n]*(?:\n\t[^\n]*)*)"
    match = re.search(status, out)
    if match is None:
        return None
    tests = re.split(r"[,\s]+", match.group(2).split("autolearn=")[0].strip())
    return SpamReport(float(match.group(1)), tuple(t for t in tests if t and t != "none"))
