"""The composition root: builds, from settings, the parts (engine, renderer, encoder, link
builder, transports, ledger) and the use cases over them — each once per process.

Nothing in digest opens a connection at import time; everything that does is made here, on
first use. Imports of heavy parts (numpy, the ranker, MJML) happen inside the properties
that need them, so a command pays only for what it uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, cast

from digest.config import Settings

if TYPE_CHECKING:
    from digest.app.deliver import Delivery
    from digest.app.digest_mail import DigestMail
    from digest.app.fetch import Fetcher
    from digest.app.inbound import Inbound
    from digest.app.notices import Notifier
    from digest.app.plan import Planner
    from digest.app.preview import Previews
    from digest.app.rankers import Rankers
    from digest.app.reader import Reader
    from digest.app.scheduled_jobs import ScheduledJobs
    from digest.app.sender import Sender
    from digest.app.status import Status
    from digest.app.subscribers import SubscriberAdmin
    from digest.app.subscriptions import Subscriptions
    from digest.links import Links
    from digest.rank import Embedder
    from digest.render import Renderer
    from digest.schedule.leadership import Leadership
    from digest.send.ledger import Ledger
    from digest.send.transport import Transport
    from digest.send.verp import Verp
    from digest.store import Engine


class _OnFirstUse:
    """Stands in for the object ``make()`` returns, building it at the first attribute read."""

    def __init__(self, make: Callable[[], object]) -> None:
        self._make = make
        self._real: object | None = None

    def __getattr__(self, name: str) -> object:
        if self._real is None:
            self._real = self._make()
        return getattr(self._real, name)


@dataclass
class Runtime:
    """One process's parts and use cases; ``close()`` releases the database pool."""

    settings: Settings
    # Web pages' picks in a short-lived child process each (``digest serve``, ``digest run``),
    # so a long-running web app never holds the ranker (digest.job_children.RankInChild).
    rank_in_child: bool = False

    # -- parts ------------------------------------------------------------------------
    @cached_property
    def engine(self) -> Engine:
        """The store, migrated to the newest schema on first use."""
        from digest.store import open_store

        return open_store(self.settings.database_url)

    @cached_property
    def renderer(self) -> Renderer:
        from digest.render import Branding, Renderer, default_templates_dir

        return Renderer(default_templates_dir(), branding=Branding.from_settings(self.settings))

    @cached_property
    def embedder(self) -> Embedder | None:
        """The packaged sentence encoder (loaded once per process), or None if unavailable."""
        from digest.rank import default_embedder

        return default_embedder()

    @cached_property
    def secret(self) -> str:
        """The signing secret (ConfigError in production mode when it is missing)."""
        return self.settings.secret()

    @cached_property
    def links(self) -> Links:
        from digest.links import Links

        return Links(self.settings.base_url, self.secret, self.settings.from_address)

    @cached_property
    def verp(self) -> Verp | None:
        """VERP bounce addresses under DIGEST_BOUNCE_ADDRESS, or None when it is unset."""
        from digest.send.verp import Verp

        base = self.settings.bounce_address
        return Verp(base, self.secret) if base else None

    @property
    def transport_name(self) -> str:
        """What ``transport()`` would build, without building it (for messages and reports)."""
        return "smtp" if self.settings.delivers_by_smtp else "outbox"

    def transport(self) -> Transport:
        """SMTP when DIGEST_SMTP__HOST is set, else the outbox directory."""
        from digest.send.smtp import SmtpTransport
        from digest.send.transport import OutboxTransport

        if self.settings.delivers_by_smtp:
            return SmtpTransport(self.settings.smtp)
        return OutboxTransport(self.settings.outbox_dir)

    def ledger(self) -> Ledger:
        """The delivery ledger as one send run holds it."""
        from digest.store.ledger_link import StoreLedger

        return StoreLedger(self.engine)

    def leadership(self) -> Leadership:
        """The scheduler's leader lock for this database."""
        from digest.store.leader_lock import leadership_for

        return leadership_for(self.engine)

    # -- use cases --------------------------------------------------------------------
    @cached_property
    def rankers(self) -> Rankers:
        from digest.app.rankers import Rankers
        from digest.store.vector_cache import default_path

        s = self.settings
        try:
            cache: Path | None = default_path()
        except RuntimeError:  # no home directory (a container's arbitrary user): no local cache
            cache = None
        return Rankers(self.engine, self.embedder, pool_max=s.rank_pool_max,
                       include_revisions=s.include_revisions, vector_cache=cache)

    @cached_property
    def fetcher(self) -> Fetcher:
        from digest.app.fetch import Fetcher, IngestRules

        s = self.settings
        return Fetcher(self.engine, s.feeds, timeout=s.http_timeout,
                       concurrency=s.http_concurrency, max_bytes=s.feed_max_bytes,
                       rules=IngestRules(max_entries=s.feed_max_entries,
                                         include_revisions=s.include_revisions))

    @cached_property
    def planner(self) -> Planner:
        from digest.app.plan import Planner
        from digest.plan_helpers import PlanProcesses

        return Planner(self.engine, self.rankers, helpers=PlanProcesses(self.settings))

    @cached_property
    def mail(self) -> DigestMail:
        from digest.app.digest_mail import DigestMail

        s = self.settings
        return DigestMail(self.renderer, self.links, s.from_address, s.from_name, s.product_name)

    @cached_property
    def delivery(self) -> Delivery:
        """Sending; ConfigError here names a bad DKIM setting before anything is sent."""
        from digest.app.deliver import Delivery
        from digest.send.dkim import signer_from_settings

        s = self.settings
        dkim = signer_from_settings(s.smtp, from_address=s.from_address)
        return Delivery(self.engine, self.ledger, self.transport, self.mail, s.smtp,
                        s.outbox_dir, dkim, self.verp)

    @cached_property
    def previews(self) -> Previews:
        from digest.app.preview import Previews

        return Previews(self.engine, self.rankers, self.mail)

    @cached_property
    def reader(self) -> Reader:
        """Editions in a browser and in a feed reader, and this week's picks (ranked in a
        child process each when ``rank_in_child``: the web app of the service)."""
        from digest.app.reader import Picker, Reader

        picker: Picker
        if self.rank_in_child:
            from digest.job_children import RankInChild

            picker = RankInChild(self.settings)
        else:
            from digest.app.rankers import ThisWeek

            picker = ThisWeek(self.rankers)
        return Reader(self.engine, picker, self.mail)

    @cached_property
    def notifier(self) -> Notifier:
        from digest.app.notices import Notifier

        s = self.settings
        # The renderer on first use: admin commands that build the notifier but mail nothing
        # (``digest subscribers list``) then never import Jinja and MJML (~0.1 s).
        renderer = cast("Renderer", _OnFirstUse(lambda: self.renderer))
        return Notifier(self.engine, renderer, self.transport, s.from_address, s.from_name,
                        s.product_name, self.verp)

    @cached_property
    def subscriptions(self) -> Subscriptions:
        from digest.app.subscriptions import Subscriptions

        return Subscriptions(self.engine, self.notifier, self.links, self.secret,
                             self.settings.web)

    @cached_property
    def inbound(self) -> Inbound:
        """Mail that comes back: bounces, complaints, auto-replies, mailed requests."""
        from digest.app.inbound import Inbound

        s = self.settings
        return Inbound(self.engine, self.subscriptions, self.verp,
                       bounce_threshold=s.smtp.hard_bounce_threshold,
                       max_bytes=s.inbound.max_bytes, product_name=s.product_name)

    @cached_property
    def subscribers(self) -> SubscriberAdmin:
        from digest.app.subscribers import SubscriberAdmin

        return SubscriberAdmin(self.engine, self.subscriptions)

    @cached_property
    def status(self) -> Status:
        from digest.app.status import Status

        return Status(self.engine, self.settings.schedule)

    def sender(self, clock: Callable[[], datetime], owner: str | None = None) -> Sender:
        """A send loop for this process (the service has one)."""
        from digest.app.sender import Sender

        return Sender(self.delivery, self.engine, clock, owner=owner)

    def scheduled_jobs(self, sender: Sender, clock: Callable[[], datetime], *,
                       in_child: bool = False) -> ScheduledJobs:
        """The jobs the leader schedules, sending through ``sender``. ``in_child``: fetch
        and plan each run in a short-lived child process (``digest.schedule.child``), so this
        process never imports the numeric stack nor keeps its memory (the service)."""
        from digest.app.scheduled_jobs import ScheduledJobs

        if in_child:  # same calls, same results (the jobs use fetch(now=) and plan(now=, ...))
            from digest.job_children import InChild

            fetcher = cast("Fetcher", InChild(self.settings))
            planner = cast("Planner", InChild(self.settings))
        else:
            fetcher, planner = self.fetcher, self.planner
        return ScheduledJobs(self.engine, fetcher, planner, sender,
                             self.settings.schedule, self.settings.outbox_dir, clock)

    def close(self) -> None:
        """Release the database pool (if it was ever opened)."""
        if "engine" in self.__dict__:
            self.engine.dispose()
