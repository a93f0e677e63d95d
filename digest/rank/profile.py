"""Profile parsing: free-text interests into sub-interests (digest/rank/interests.py), seed,
liked and disliked papers resolved against the corpus.

Also builds a Profile from a plain mapping (a subscriber file or form), validating types.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from digest.models import Paper, Profile
from digest.rank.interests import examples, meaningful, sub_interests, wanted
from digest.text import clean_interests, references

_ARXIV_ID = re.compile(
    r"^(?:arxiv:)?(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$", re.IGNORECASE
)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ParsedProfile:
    """What the scorers need from a Profile, normalized once per rank call."""

    text: str  # interests + keywords: the whole-profile query
    phrases: tuple[str, ...]  # sub-interests, then keywords: each scored on its own, as written
    examples: tuple[str, ...]  # instances the reader names ("like Mamba"): word evidence only
    seeds: tuple[Paper, ...]  # seed papers found in the corpus (liked before subscribing)
    liked: tuple[Paper, ...]
    disliked: tuple[Paper, ...]
    authors: frozenset[str]  # normalized names
    categories: frozenset[str]

    @property
    def encoded(self) -> tuple[str, ...]:
        """The texts the encoder reads for this profile: the whole, then each sub-interest
        when there are several (a single one is the whole)."""
        return (self.text, *(self.phrases if len(self.phrases) > 1 else ()))


def split_interests(text: str) -> tuple[str, ...]:
    """The reader's sub-interests as written (see :func:`digest.rank.interests.sub_interests`)."""
    return sub_interests(text)


def normalize_author(name: str) -> str:
    """Case- and spacing-insensitive author key ('Oriol  Vinyals' == 'oriol vinyals')."""
    return _SPACE.sub(" ", name).strip().lower()


def arxiv_id(text: str) -> str | None:
    """The versionless arXiv id in ``text`` if it is one (``arXiv:2401.01234v2`` -> ``2401.01234``)."""
    m = _ARXIV_ID.match(text.strip())
    return m.group(1) if m else None


def _title_key(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


class PaperLookup:
    """Papers by id and by normalized title, built once per corpus (later duplicates win)."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.by_id = {p.id: p for p in papers}
        self.by_title = {_title_key(p.title): p for p in papers}


def resolve_papers(refs: Sequence[str], papers: Sequence[Paper],
                   lookup: PaperLookup | None = None) -> tuple[Paper, ...]:
    """Find referenced papers by id, arXiv id or exact (normalized) title; unknown refs drop out.

    ``lookup``: the same papers already indexed (a ranker builds it once for its corpus).
    """
    if not refs:
        return ()
    lookup = lookup or PaperLookup(papers)
    found: dict[str, Paper] = {}
    for ref in refs:
        key = arxiv_id(ref) or ref.strip()
        paper = lookup.by_id.get(key) or lookup.by_title.get(_title_key(ref))
        if paper is not None:
            found[paper.id] = paper
    return tuple(found.values())


def parse_profile(profile: Profile, papers: Sequence[Paper],
                  lookup: PaperLookup | None = None) -> ParsedProfile:
    """Normalize a Profile against the corpus being ranked (``lookup``: the corpus indexed)."""
    named, words = references(clean_interests(profile.interests))
    keywords = tuple(k.strip() for k in profile.keywords if k.strip())
    phrases = split_interests(words) + keywords
    text = " ".join([wanted(words), *keywords]).strip()
    seeds = resolve_papers((*profile.seed_papers, *named), papers, lookup)
    if not meaningful(text):  # only links typed: the papers they name are the interests
        linked = resolve_papers(named, papers, lookup)
        phrases = tuple(p.title for p in linked)
        text = "; ".join(phrases)
    liked = resolve_papers(profile.liked, papers, lookup)
    return ParsedProfile(
        text=text,
        phrases=tuple({p.lower(): p for p in reversed(phrases)}.values())[::-1],
        examples=examples(words),
        seeds=seeds,
        liked=liked,
        disliked=tuple(p for p in resolve_papers(profile.disliked, papers, lookup)
                       if p not in liked),
        authors=frozenset(normalize_author(a) for a in profile.authors if a.strip()),
        categories=frozenset(c.strip() for c in profile.categories if c.strip()),
    )
