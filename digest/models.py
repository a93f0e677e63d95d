"""Domain records shared by every stage: Paper, Profile, Subscriber, Pick, Ranking.

Plain frozen dataclasses: the pure core (rank, render, compose) takes and returns these and
never touches the store, the clock or the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Frequency = Literal["daily", "weekly", "off"]
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
    announce_type: str | None = None  # arXiv: new, cross, replace, replace-cross
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
