"""Reasons: short human strings, each grounded in data, saying why a paper was picked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from digest.models import Paper
from digest.rank.profile import ParsedProfile, normalize_author

TRENDING_MIN = 10  # upvotes; below this "trending" would be noise
LIKED_MIN = 0.4  # cosine to a liked paper before "because you liked" (same-topic pairs: 0.4-0.65)
TITLE_CHARS = 70


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


def phrase_in(phrase: str, text: str) -> bool:
    """``phrase`` occurs in ``text`` as consecutive words (any case, separators or suffix:
    'KV cache' matches 'KV-caches'), so a claimed match is one a reader can find."""
    words = re.findall(r"\w+", phrase.lower())
    if not words:
        return False
    pattern = r"\W+".join(re.escape(w) for w in words)
    return re.search(rf"\b{pattern}\w{{0,3}}\b", text.lower()) is not None


def matched_phrases(phrases: Sequence[str], paper: Paper, limit: int = 3) -> list[str]:
    """The reader's own interest phrases that the paper's title or abstract contains."""
    text = f"{paper.title} {paper.abstract}"
    return [p for p in phrases if len(p) <= 40 and phrase_in(p, text)][:limit]


def reasons_for(
    paper: Paper,
    parsed: ParsedProfile,
    *,
    terms: Sequence[str] = (),
    closest_interest: str | None = None,
    liked: Paper | None = None,
    liked_sim: float = 0.0,
) -> tuple[str, ...]:
    """Reasons for one pick, strongest evidence first; at most four."""
    out: list[str] = []
    matched = matched_phrases(parsed.phrases, paper)
    if matched:
        out.append("matches: " + ", ".join(matched))
    elif terms:
        out.append("matches: " + ", ".join(terms[:3]))
    elif closest_interest:
        out.append(f"close to your interest: {closest_interest}")
    if liked is not None and liked_sim >= LIKED_MIN and liked.id != paper.id:
        out.append(f"because you liked {_short(liked.title)}")
    followed = [a for a in paper.authors if normalize_author(a) in parsed.authors]
    if followed:
        out.append("by " + ", ".join(followed[:2]))
    cats = [c for c in paper.categories if c in parsed.categories]
    if cats:
        out.append("in " + ", ".join(cats[:2]))
    if (paper.upvotes or 0) >= TRENDING_MIN:
        out.append(f"trending: {paper.upvotes} upvotes")
    return tuple(out[:4])
