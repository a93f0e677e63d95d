"""The flow end to end: fetch → plan (rank into the ledger) → deliver (render, compose, send).

Planning writes one ledger row per (edition, subscriber) with the picks frozen in it;
delivery renders from that row, so a retry or a crash-restart sends the same email.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from digest.compose import compose_message, make_message_id
from digest.corpus import pool_ranker
from digest.editions import (
    DEFAULT_TOO_LATE,
    FIRST_EDITION_LOOKBACK,
    edition_for,
    is_due,
    window_start,
)
from digest.feeds import FeedResult, fetch_feeds, parse_feed_specs
from digest.links import digest_links
from digest.models import EditionInfo, Pick, Ranking, Subscriber
from digest.render import RenderedEmail
from digest.runtime import Runtime
from digest.send.deliver import Outgoing, SendReport, deliver_due, preview_due
from digest.send.dkim import signer_from_settings
from digest.send.ratelimit import RateLimiter
from digest.send.transport import OutboxTransport, flatten, needs_smtputf8
from digest.store import history, ledger
from digest.store.ledger import Claim
from digest.store.papers import get_papers, papers_seen_since
from digest.store.subscribers import (
    get_subscriber,
    list_subscribers,
)

__all__ = ["FIRST_EDITION_LOOKBACK", "deliver", "deliver_async", "fetch", "plan", "run_once"]


@dataclass(slots=True)
class PlanReport:
    planned: int = 0
    already: int = 0  # this period's edition is already in the ledger
    waiting: int = 0  # scheduled: not due yet, or this period already handled
    skipped_late: int = 0  # scheduled: due too long ago, recorded as skipped
    nothing_new: int = 0  # no paper cleared the relevance floor
    skipped_quiet: int = 0
    per_subscriber: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RunReport:
    feeds: list[FeedResult]
    plan: PlanReport
    send: SendReport
    transport: str


def fetch(rt: Runtime, *, now: datetime, urls: list[str] | None = None,
          on_done: Callable[[FeedResult], None] | None = None) -> list[FeedResult]:
    specs = parse_feed_specs(urls if urls is not None else rt.settings.feeds)
    return asyncio.run(fetch_feeds(rt.engine, specs, now=now, timeout=rt.settings.http_timeout,
                                   concurrency=rt.settings.http_concurrency, on_done=on_done))


def rank_for(rt: Runtime, subscriber: Subscriber, *, now: datetime, ranker: object | None = None,
             pool_since: datetime | None = None, exclude: set[str] | None = None) -> Ranking:
    """Rank recent papers for one subscriber, leaving out what they were already sent
    (and ``exclude``: papers older than their edition window)."""
    exclude = ledger.sent_paper_ids(rt.engine, subscriber.id) | (exclude or set())
    if ranker is None:
        pool = papers_seen_since(rt.engine, pool_since or now - FIRST_EDITION_LOOKBACK)
        ranker = pool_ranker(rt.engine, pool, embedder=rt.embedder, subscribers=[subscriber])
    return ranker.rank(subscriber.profile, now=now, k=subscriber.papers_per_email,  # type: ignore[attr-defined]
                       exclude=exclude)


def plan(rt: Runtime, *, now: datetime, only: str | None = None, scheduled: bool = False,
         too_late: timedelta = DEFAULT_TOO_LATE, first_at_once: bool = True) -> PlanReport:
    """Put editions in the ledger for active subscribers who lack them.

    ``scheduled=False`` (``digest run --once``, ``digest send``): this calendar period's
    edition for everyone not yet served, whatever the hour — the operator asked for it now.
    ``scheduled=True`` (the service): only editions whose local delivery time has passed;
    one more than ``too_late`` overdue is recorded as skipped instead of sent stale, and a
    new subscriber's first edition goes out at once when ``first_at_once``.
    Each edition covers the papers first seen since the subscriber's last delivered one.
    """
    report = PlanReport()
    subscribers = [s for s in list_subscribers(rt.engine, status="active")
                   if s.frequency != "off" and (only is None or s.email == only)]
    last = history.last_editions(rt.engine) if scheduled else {}
    joined = history.active_since(rt.engine) if scheduled else {}
    todo: list[tuple[Subscriber, EditionInfo]] = []
    for sub in subscribers:
        if not scheduled:
            todo.append((sub, edition_for(sub, now)))
            continue
        due = is_due(sub, now, last.get(sub.id), too_late=too_late,
                     active_since=joined.get(sub.id), first_at_once=first_at_once)
        if due.action == "wait" or due.edition is None:
            report.waiting += 1
            continue
        if due.action == "skip":
            edition_id = ledger.ensure_edition(rt.engine, due.edition, now=now)
            if ledger.add_delivery(rt.engine, edition_id=edition_id, subscriber_id=sub.id,
                                   picks=[], quiet=False, now=now, state="skipped",
                                   note=due.reason):
                report.skipped_late += 1
                report.per_subscriber[sub.email] = due.reason
            continue
        todo.append((sub, due.edition))
    fresh: list[tuple[Subscriber, int]] = []
    for sub, info in todo:
        edition_id = ledger.ensure_edition(rt.engine, info, now=now)
        if ledger.has_delivery(rt.engine, edition_id=edition_id, subscriber_id=sub.id):
            report.already += 1
            report.per_subscriber[sub.email] = "already planned"
        else:
            fresh.append((sub, edition_id))
    if not fresh:
        return report
    delivered = history.last_delivered_at(rt.engine)
    starts = {sub.id: window_start(delivered.get(sub.id), now) for sub, _ in fresh}
    pool = papers_seen_since(rt.engine, min(starts.values()))
    ranker = (pool_ranker(rt.engine, pool, embedder=rt.embedder,
                          subscribers=[sub for sub, _ in fresh]) if pool else None)
    for sub, edition_id in fresh:
        # After a previous edition, papers seen at its very instant were its candidates.
        cut, had = starts[sub.id], sub.id in delivered
        older = {p.id for p in pool
                 if p.first_seen is not None and (p.first_seen < cut or (had and p.first_seen == cut))}
        ranking = (rank_for(rt, sub, now=now, ranker=ranker, exclude=older) if ranker
                   else Ranking(quiet=True))
        if not ranking.picks:
            report.nothing_new += 1
            report.per_subscriber[sub.email] = "nothing new"
            continue
        skip = ranking.quiet and sub.quiet_week == "skip"
        picks = [{"id": p.paper.id, "score": round(p.score, 6), "reasons": list(p.reasons)}
                 for p in ranking.picks]
        if not ledger.add_delivery(rt.engine, edition_id=edition_id, subscriber_id=sub.id,
                                   picks=picks, quiet=ranking.quiet, now=now,
                                   state="skipped" if skip else "pending",
                                   note="quiet week, subscriber skips those" if skip else None):
            report.already += 1  # another node planned it between our check and insert
            report.per_subscriber[sub.email] = "already planned"
            continue
        report.skipped_quiet += skip
        report.planned += not skip
        report.per_subscriber[sub.email] = f"{len(picks)} papers" + (" (quiet)" if ranking.quiet else "")
    return report


def render_for(rt: Runtime, subscriber: Subscriber, ranking: Ranking, *, edition_key: str,
               now: datetime) -> tuple[RenderedEmail, EmailMessage]:
    settings = rt.settings
    links = digest_links(settings.base_url, rt.secret, subscriber.id, settings.from_address)
    info = edition_for(subscriber, now)
    if info.key != edition_key:  # rendering a row planned in an earlier period
        info = type(info)(key=edition_key, frequency=info.frequency,
                          period_start=info.period_start, period_end=info.period_end)
    rendered = rt.renderer.render_digest(subscriber=subscriber, ranking=ranking, edition=info,
                                         links=links)
    domain = settings.from_address.rsplit("@", 1)[1]
    message = compose_message(
        rendered, to_addr=subscriber.email, to_name=subscriber.name,
        from_addr=settings.from_address, from_name=settings.from_name,
        message_id=make_message_id(edition_key, subscriber.id, domain), date=now,
        list_id=f"{settings.product_name} <digest.{domain}>",
        unsubscribe_url=links.unsubscribe_url, unsubscribe_mailto=links.list_unsubscribe_mailto,
    )
    return rendered, message


def _builder(rt: Runtime, clock: Callable[[], datetime]) -> Callable[[Claim], Outgoing]:
    signer = signer_from_settings(rt.settings.smtp, from_address=rt.settings.from_address)

    def build(claim: Claim) -> Outgoing:
        # Rendering needs the subscriber anyway; one who left since planning is not rendered.
        # Whether mail may still go out is decided right before sending (ledger.refusal).
        sub = get_subscriber(rt.engine, subscriber_id=claim.subscriber_id)
        if sub is None or sub.status != "active":
            return Outgoing(None, skip_state="suppressed",
                            skip_reason=f"subscriber is {sub.status if sub else 'gone'}")
        papers = get_papers(rt.engine, [p["id"] for p in claim.picks])
        picks = tuple(Pick(paper=papers[p["id"]], score=p["score"], reasons=tuple(p["reasons"]))
                      for p in claim.picks if p["id"] in papers)
        ranking = Ranking(picks=picks, quiet=claim.quiet, considered=len(picks))
        _, message = render_for(rt, sub, ranking, edition_key=claim.edition_key, now=clock())
        sender = rt.settings.from_address
        data = flatten(message, utf8=needs_smtputf8(sender, sub.email))
        if signer is not None:
            data = signer(data)
        return Outgoing(message, sender=sender, recipient=sub.email, data=data,
                        message_id=str(message["Message-ID"]))

    return build


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _subscriber_ids(rt: Runtime, only: str | None) -> list[int] | None:
    if only is None:
        return None
    sub = get_subscriber(rt.engine, email=only)
    return [sub.id] if sub else []


def count_due(rt: Runtime, *, only: str | None = None) -> int:
    """How many deliveries a send would handle now (for a progress bar)."""
    return ledger.count_due(rt.engine, now=datetime.now(UTC),
                            subscriber_ids=_subscriber_ids(rt, only))


def _limiter(rt: Runtime, now: datetime) -> RateLimiter:
    smtp = rt.settings.smtp
    recent: list[float] = []
    if smtp.hourly_cap:
        # Count what earlier runs sent in the last hour, so the cap holds across runs.
        mono = time.monotonic()
        recent = [mono - (now - t).total_seconds()
                  for t in ledger.sent_times_since(rt.engine, now - timedelta(hours=1))]
    return RateLimiter(smtp.rate_per_second, smtp.hourly_cap, recent=recent)


async def deliver_async(rt: Runtime, *, clock: Callable[[], datetime] | None = None,
                        limit: int | None = None, owner: str | None = None,
                        only: str | None = None, dry_run: bool = False,
                        on_progress: Callable[[int], None] | None = None) -> SendReport:
    """Send due ledger rows (at most ``limit``) inside the caller's event loop; with
    ``dry_run``, write them to the outbox without touching the ledger."""
    clock = clock or (lambda: datetime.now(UTC))
    build = _builder(rt, clock)
    ids = _subscriber_ids(rt, only)

    if dry_run:
        return await preview_due(rt.engine, OutboxTransport(rt.settings.outbox_dir), build,
                                 clock=clock, limit=limit, subscriber_ids=ids)
    transport = rt.transport()
    try:
        return await deliver_due(rt.engine, transport, build, owner=owner or worker_id(),
                                 smtp=rt.settings.smtp, clock=clock, limit=limit,
                                 subscriber_ids=ids, limiter=_limiter(rt, clock()),
                                 on_progress=on_progress)
    finally:
        await transport.close()


def deliver(rt: Runtime, *, clock: Callable[[], datetime] | None = None,
            limit: int | None = None, only: str | None = None, dry_run: bool = False,
            on_progress: Callable[[int], None] | None = None) -> SendReport:
    """Send every due ledger row through the configured transport (or, with ``dry_run``,
    write them to the outbox without touching the ledger)."""
    return asyncio.run(deliver_async(rt, clock=clock, limit=limit, only=only, dry_run=dry_run,
                                     on_progress=on_progress))


def run_once(rt: Runtime, *, now: datetime | None = None,
             on_feed: Callable[[FeedResult], None] | None = None) -> RunReport:
    now = now or datetime.now(UTC)
    feeds = fetch(rt, now=now, on_done=on_feed)
    planned = plan(rt, now=now)
    sent = deliver(rt)
    return RunReport(feeds=feeds, plan=planned, send=sent, transport=rt.transport_name)


def build_preview(rt: Runtime, *, subscriber_email: str | None = None,
                  interests: str | None = None,
                  now: datetime | None = None) -> list[tuple[Subscriber, RenderedEmail, EmailMessage]]:
    """What each chosen subscriber would get now, rendered and composed, sending nothing."""
    from digest.models import Profile

    now = now or datetime.now(UTC)
    if interests is not None:
        subs = [Subscriber(id=0, email="preview@example.org", name="Preview",
                           profile=Profile(interests=interests))]
    elif subscriber_email is not None:
        found = get_subscriber(rt.engine, email=subscriber_email)
        subs = [found] if found else []
    else:
        subs = list_subscribers(rt.engine, status="active")
    pool = papers_seen_since(rt.engine, now - FIRST_EDITION_LOOKBACK)
    ranker = pool_ranker(rt.engine, pool, embedder=rt.embedder, subscribers=subs) if pool else None
    out = []
    for sub in subs:
        ranking = rank_for(rt, sub, now=now, ranker=ranker) if ranker else Ranking(quiet=True)
        rendered, message = render_for(rt, sub, ranking, edition_key=edition_for(sub, now).key,
                                       now=now)
        out.append((sub, rendered, message))
    return out
