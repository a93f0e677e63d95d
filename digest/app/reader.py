"""Use case: the reader's face beyond the inbox — an edition in a browser (the email's own
HTML), the private Atom feed of their editions, and "your digest this week": what the ranker
would pick now for some interests (cached, for the subscribe and preferences pages).

The ranking itself is a ``Picker``: in this process (``digest.app.rankers.ThisWeek``) or, in
the service, in a short-lived child process (``digest.job_children.RankInChild``), so the web
app never imports the ranker nor keeps its memory."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from digest.app.digest_mail import DigestMail
from digest.models import Pick, Profile, Ranking, Subscriber
from digest.render import RenderedEmail
from digest.render.context import PaperView, paper_view
from digest.store import Engine
from digest.store import reader as store
from digest.store.papers import get_papers

log = logging.getLogger("digest.reader")

FEED_EDITIONS = 20  # entries in a reader's Atom feed
CHECK_TTL = timedelta(minutes=15)  # how long "this week's picks" for one text are reused
# At most this many requests wait for the picker (one ranks at a time, about 3 s each here)
# and this many background rankings are pending: past them a page says "busy" at once. An
# attacker's report: 100 concurrent checks held every server thread, /healthz took 192 s.
CHECKS_AT_ONCE = 3
BACKGROUND_AT_ONCE = 4


def frozen_ranking(engine: Engine, picks: list[dict[str, Any]], quiet: bool) -> Ranking:
    """The ranking an edition was sent with, from its ledger row's frozen picks (as
    ``Delivery.build`` rebuilds it: papers erased since are left out)."""
    papers = get_papers(engine, [p["id"] for p in picks])
    found = tuple(Pick(paper=papers[p["id"]], score=p["score"], reasons=tuple(p["reasons"]))
                  for p in picks if p["id"] in papers)
    return Ranking(picks=found, quiet=quiet, considered=len(found))


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One edition in the Atom feed: its key, subject, when it was sent (UTC), its
    view-in-browser URL and the papers as the email showed them."""

    key: str
    subject: str
    sent_at: datetime
    view_url: str
    papers: list[PaperView]


class Picker(Protocol):
    """Ranks this week's papers for ``interests`` as ``subscriber``'s (their feedback and
    history kept), ``limit`` picks; an empty Ranking when there is nothing to rank."""

    def __call__(self, subscriber: Subscriber, interests: str, *, now: datetime,
                 limit: int) -> Ranking: ...


@dataclass
class Reader:
    """Editions read elsewhere, and this week's picks, over the store, a picker and mail."""

    engine: Engine
    picker: Picker
    mail: DigestMail
    _cache: dict[tuple[Any, ...], tuple[datetime, list[PaperView]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _busy: set[tuple[Any, ...]] = field(default_factory=set)
    _checking: int = 0

    def view(self, subscriber: Subscriber, edition_key: str) -> RenderedEmail | None:
        """Edition ``edition_key`` exactly as this subscriber's email carried it (None when it
        was never sent to them). Raises RenderError on a template fault."""
        sent = store.sent_edition(self.engine, subscriber.id, edition_key)
        if sent is None:
            return None
        ranking = frozen_ranking(self.engine, sent.picks, sent.quiet)
        return self.mail.render(subscriber, ranking, sent.info)

    def feed_entries(self, subscriber: Subscriber) -> list[FeedEntry]:
        """The newest editions sent to this subscriber, newest first."""
        out = []
        for sent in store.sent_editions(self.engine, subscriber.id, limit=FEED_EDITIONS):
            ranking = frozen_ranking(self.engine, sent.picks, sent.quiet)
            links = self.mail.links.for_digest(subscriber.id, subscriber.public_id, sent.info.key)
            context = self.mail.renderer.digest_context(subscriber, ranking, sent.info, links)
            out.append(FeedEntry(sent.info.key, context["subject"], sent.sent_at,
                                 context["view_url"], context["papers"]))
        return out

    def feed_url(self, subscriber: Subscriber, *, now: datetime) -> str:
        """The subscriber's private feed URL (its key is made on first use)."""
        key = store.feed_key(self.engine, subscriber.id, now=now)
        return self.mail.links.feed(subscriber.id, subscriber.public_id, key)

    def new_feed_url(self, subscriber: Subscriber, *, now: datetime) -> str:
        """Revoke the old feed URL and return a new one."""
        key = store.replace_feed_key(self.engine, subscriber.id, now=now)
        return self.mail.links.feed(subscriber.id, subscriber.public_id, key)

    def feed_key_is_current(self, subscriber: Subscriber, key: object, *, now: datetime) -> bool:
        """Whether a feed link's key is the subscriber's current one (not revoked)."""
        return isinstance(key, str) and key == store.feed_key(self.engine, subscriber.id,
                                                              now=now)

    def this_week(self, subscriber: Subscriber, interests: str, *, now: datetime,
                  limit: int = 5) -> list[PaperView]:
        """The ``limit`` papers the ranker would pick now for ``interests`` (with this
        subscriber's feedback and history), with their reasons. Reused for ``CHECK_TTL`` per
        (subscriber, text): ranking is the costly part, and a form round-trip repeats it."""
        key = (subscriber.id, interests, limit)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] < CHECK_TTL:
                return hit[1]
        ranking = self.picker(subscriber, interests, now=now, limit=limit)
        picks: list[PaperView] = []
        if ranking.picks:
            links = self.mail.links.for_digest(subscriber.id, subscriber.public_id)
            picks = [paper_view(pick, links) for pick in ranking.picks]
        with self._lock:
            if len(self._cache) > 500:  # a bound, not an LRU: entries are cheap to remake
                self._cache.clear()
            self._cache[key] = (now, picks)
        return picks


    def this_week_or_busy(self, subscriber: Subscriber, interests: str, *, now: datetime,
                          limit: int = 5) -> list[PaperView] | None:
        """``this_week``, or None at once when CHECKS_AT_ONCE requests already wait for the
        picker: a flood of checks gets "busy" answers instead of every server thread."""
        key = (subscriber.id, interests, limit)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] < CHECK_TTL:
                return hit[1]
            if self._checking >= CHECKS_AT_ONCE:
                return None
            self._checking += 1
        try:
            return self.this_week(subscriber, interests, now=now, limit=limit)
        finally:
            with self._lock:
                self._checking -= 1

    def this_week_soon(self, subscriber: Subscriber, interests: str, *, now: datetime,
                       limit: int = 5) -> list[PaperView] | None:
        """``this_week`` without waiting: the cached picks (even stale ones), else None while
        a background thread ranks them (at most BACKGROUND_AT_ONCE threads; past that, None
        and no thread: the next page view asks again). A page view never waits for the
        encoder to load."""
        key = (subscriber.id, interests, limit)
        with self._lock:
            hit = self._cache.get(key)
            fresh = hit is not None and now - hit[0] < CHECK_TTL
            if fresh or key in self._busy or len(self._busy) >= BACKGROUND_AT_ONCE:
                return hit[1] if hit is not None else None
            self._busy.add(key)

        def work() -> None:
            try:
                self.this_week(subscriber, interests, now=now, limit=limit)
            except Exception:  # a page's extra: logged, never fatal
                log.exception("ranking this week's picks failed")
            finally:
                with self._lock:
                    self._busy.discard(key)

        threading.Thread(target=work, name="this-week", daemon=True).start()
        return hit[1] if hit is not None else None


def example_reader(interests: str) -> Subscriber:
    """A made-up reader (id 0, nothing sent, no feedback) for the subscribe page's sample."""
    return Subscriber(id=0, email="sample@example.org", name="", profile=Profile(interests))
