"""Domain records shared by every stage: Paper, Profile, Subscriber, Pick, Ranking, and the
delivery ledger's Claim, Outcome and LeaseHolder.

Plain frozen dataclasses: the pure core (rank, render, compose) takes and returns these and
never touches the store, the clock or the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Frequency = Literal["daily", "weekly", "off"]
# arXiv announce types of "updated versions of papers", not new work
# (https://info.arxiv.org/help/rss_specifications.html, <arxiv:announce_type>).
REVISIONS = frozenset({"replace", "replace-cross"})
SubscriberStatus = Literal["pending", "active", "unsubscribed", "bounced"]


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper, normalized from whatever feed carried it.

    ``id`` is canonical: the arXiv id without version (``2401.01234``, ``astro-ph/0601001``)
    where known, else ``doi:<doi>``, else ``url:<normalized link or guid>``.
    Text fields are clean text (no markup, no control characters); links are http(s) only.
    """

    id: str
    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    url: str | None = None  # abstract / landing page
    pdf_url: str | None = None
    code_url: str | None = None
    categories: tuple[str, ...] = ()
    published: datetime | None = None  # aware UTC
    updated: datetime | None = None  # aware UTC
    sources: tuple[str, ...] = ()  # names of the feeds that carried it
    summary: str | None = None  # a source's own short summary (e.g. HF ai_summary)
    upvotes: int | None = None
    comments: int | None = None
    stars: int | None = None
    # arXiv's announcement when digest first stored the paper: new, cross (new work), or
    # replace, replace-cross (a revision); later sightings never change it (store.papers).
    announce_type: str | None = None
    version: int | None = None  # newest arXiv version seen: 4 for 1905.07799v4
    first_seen: datetime | None = None  # when digest first stored it (set by the store)


@dataclass(frozen=True, slots=True)
class Profile:
    """What a subscriber reads: free text plus optional structured hints and feedback."""

    interests: str
    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # arXiv categories, e.g. cs.CL
    authors: tuple[str, ...] = ()  # authors to follow
    seed_papers: tuple[str, ...] = ()  # arXiv ids or titles the subscriber likes
    liked: tuple[str, ...] = ()  # paper ids from "more like this"
    disliked: tuple[str, ...] = ()  # paper ids from "less like this"
    popularity_weight: float = 1.0  # scales the trending/recency priors for this reader


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A person on the list, with their profile and delivery preferences."""

    id: int
    email: str
    profile: Profile
    name: str = ""
    status: SubscriberStatus = "active"
    frequency: Frequency = "weekly"
    weekday: int = 0  # 0 = Monday, used by weekly editions
    hour: int = 8  # local hour of delivery
    timezone: str = "UTC"
    papers_per_email: int = 10
    quiet_week: Literal["send", "skip"] = "send"  # what to do when few papers clear the floor
    public_id: str = ""  # random, never reused: what every link names (store.schema)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a subscriber gets editions, without their profile: what deciding who is due
    reads for every subscriber (a planning pass reads profiles only for the batches it
    ranks)."""

    id: int
    email: str
    status: SubscriberStatus = "active"
    frequency: Frequency = "weekly"
    weekday: int = 0
    hour: int = 8
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Pick:
    """A paper chosen for one subscriber, with its score and the human-readable reasons."""

    paper: Paper
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Ranking:
    """The ranker's answer for one subscriber: picks best first, and whether it was quiet."""

    picks: tuple[Pick, ...] = ()
    quiet: bool = False  # fewer papers cleared the relevance floor than were asked for
    considered: int = 0  # how many candidate papers were scored


@dataclass(frozen=True, slots=True)
class EditionInfo:
    """Identifies one edition: ``key`` like ``weekly:2026-W48`` or ``daily:2026-11-29``."""

    key: str
    frequency: Frequency
    period_start: datetime
    period_end: datetime
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubscriberInput:
    """Everything a file, form or CLI may say about a subscriber (email already normalized)."""

    email: str
    interests: str
    name: str = ""
    keywords: Sequence[str] = ()
    categories: Sequence[str] = ()
    authors: Sequence[str] = ()
    seed_papers: Sequence[str] = ()
    frequency: str = "weekly"
    weekday: int = 0
    hour: int = 8
    timezone: str = "UTC"
    papers_per_email: int = 10
    quiet_week: str = "send"
    popularity_weight: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "interests": self.interests,
            "keywords": list(self.keywords),
            "categories": list(self.categories),
            "authors": list(self.authors),
            "seed_papers": list(self.seed_papers),
            "frequency": self.frequency,
            "weekday": self.weekday,
            "hour": self.hour,
            "timezone": self.timezone,
            "papers_per_email": self.papers_per_email,
            "quiet_week": self.quiet_week,
            "popularity_weight": self.popularity_weight,
        }


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this worker holds the lease on."""

    id: int
    edition_id: int
    edition_key: str
    subscriber_id: int
    picks: tuple[dict[str, Any], ...]  # {"id", "score", "reasons"}, best first
    quiet: bool
    attempts: int
    unknown: int = 0  # earlier attempts whose outcome stayed unknown (no reply to DATA)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed delivery, to be written under the lease."""

    delivery_id: int
    state: str  # sent, retry, unknown, or a final state
    error: str | None = None
    message_id: str | None = None
    reply: str | None = None
    transport: str | None = None
    next_attempt_at: datetime | None = None
    bounce_subscriber_id: int | None = None  # a hard bounce to count against this subscriber
    refund: bool = False  # the attempt does not count (never reached, or refused us)
    unknown: bool = False  # this attempt's outcome is unknown (counted on the row)


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """A sender holding ledger rows now: its owner id (``host:pid:rand:space``), how many
    rows, and when the last of those leases runs out (the rows come back to every sender
    then, unless it renews them)."""

    owner: str
    rows: int
    until: datetime
