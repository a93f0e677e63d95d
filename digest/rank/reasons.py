"""Reasons: short human strings, each grounded in data, saying why a paper was picked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from digest.models import Paper
from digest.rank.interests import meaningful
from digest.rank.interests import words as written_words
from digest.rank.lexical import LexicalIndex
from digest.rank.profile import ParsedProfile, normalize_author

TRENDING_MIN = 10  # upvotes; below this "trending" would be noise
LIKED_MIN = 0.4  # cosine to a liked paper before "because you liked" (same-topic pairs: 0.4-0.65)
TITLE_CHARS = 70
INTEREST_CHARS = 80
# A pick's reason cites the reader's words only when the paper holds at least this share of a
# sub-interest's IDF mass (LexicalIndex.coverage); else it names the sub-interest it is
# closest to. From a breaker's report (issue 17): "matches: build" for a paper sharing one
# everyday word with a sentence about leaked benchmarks.
CITE_SHARE = 0.5
# (phrase, paper) answers kept per corpus: readers who share a phrase get the same papers
# picked, and each pick asked again (a regex over the abstract, a run over the phrase's
# words): 38 us a pick, 1.9 s of 13 s planning 5,000 bench/edition.py readers under
# cProfile, where 84% of the questions had been asked before. ~150 bytes an entry.
PER_PAPER_CACHE = 100_000


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


@lru_cache(maxsize=4096)
def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    words = re.findall(r"\w+", phrase.lower())
    if not words:
        return None
    pattern = r"\W+".join(re.escape(w) for w in words)
    return re.compile(rf"\b{pattern}\w{{0,3}}\b")


def phrase_in(phrase: str, text: str) -> bool:
    """``phrase`` occurs in ``text`` as consecutive words (any case, separators or suffix:
    'KV cache' matches 'KV-caches'), so a claimed match is one a reader can find."""
    pattern = _phrase_pattern(phrase)
    return pattern is not None and pattern.search(text.lower()) is not None


def matched_phrases(phrases: Sequence[str], paper: Paper, limit: int = 3) -> list[str]:
    """The reader's own interest phrases that the paper's title or abstract contains."""
    text = f"{paper.title} {paper.abstract}".lower()  # once per paper, not once per phrase
    found = []
    for phrase in phrases:
        pattern = _phrase_pattern(phrase) if len(phrase) <= 40 else None
        if pattern is not None and pattern.search(text):
            found.append(phrase)
    return found[:limit]


def matched_in_doc(phrases: Sequence[str], paper: Paper, doc: int, lexical: LexicalIndex,
                   limit: int = 3) -> list[str]:
    """:func:`matched_phrases` for ``paper``, row ``doc`` of ``lexical``'s corpus, each
    phrase's answer for that paper kept with the corpus."""
    cache: dict[tuple[str, int], bool] = lexical.memo.setdefault("phrase_in_doc", {})
    text = None
    found = []
    for phrase in phrases:
        hit = cache.get((phrase, doc))
        if hit is None:
            if text is None:
                text = f"{paper.title} {paper.abstract}".lower()
            pattern = _phrase_pattern(phrase) if len(phrase) <= 40 else None
            hit = pattern is not None and pattern.search(text) is not None
            if len(cache) < PER_PAPER_CACHE:
                cache[(phrase, doc)] = hit
        if hit:
            found.append(phrase)
    return found[:limit]


# (word as written, its index terms, IDF mass, whether a reason may cite it) per word of a
# phrase, "" between punctuation-separated chunks; kept per index and phrase, since each of
# a reader's picks asks about the same phrase (issue 20: a third of planning's CPU).
Word = tuple[str, tuple[str, ...], float, bool]


def _phrase_words(phrase: str, lexical: LexicalIndex) -> list[Word]:
    cache: dict[str, list[Word]] = lexical.memo.setdefault("reader_words", {})
    found = cache.get(phrase)
    if found is not None:
        return found
    out: list[Word] = []
    chunks = re.split(r"[,;:()\[\]/.!?]+", phrase)  # a run never crosses punctuation
    for word in [w for chunk in chunks for w in [*written_words(chunk), ""]]:
        terms = tuple(lexical.terms(word)) if word and meaningful(word) else ()
        specific = any(lexical.idf_of(t) >= lexical.specific_idf for t in terms)
        out.append((word, terms, sum(lexical.idf_of(t) for t in terms), specific))
    if len(cache) < 50_000:
        cache[phrase] = out
    return out


def reader_words(phrase: str, lexical: LexicalIndex, doc: int, limit: int = 3, *,
                 text: str) -> list[str]:
    """The reader's own words from ``phrase``, as they wrote them, that paper ``doc`` (whose
    title and abstract are ``text``) contains.

    Consecutive words of the reader's stay together ("KV cache", not "kv", "cache") where the
    paper holds them together too; words it holds apart are cited one by one, so a claimed
    phrase is one a reader can find. A word that one paper in five or more contains says
    little about this one and is not cited (``LexicalIndex.specific_idf``). Most specific
    first.
    """
    if lexical.empty:
        return []
    cache: dict[tuple[str, int, int], list[str]] = lexical.memo.setdefault("words_in_doc", {})
    found = cache.get((phrase, doc, limit))
    if found is None:
        found = _reader_words(phrase, lexical, doc, limit, text)
        if len(cache) < PER_PAPER_CACHE:
            cache[(phrase, doc, limit)] = found
    return list(found)


def _reader_words(phrase: str, lexical: LexicalIndex, doc: int, limit: int,
                  text: str) -> list[str]:
    present = lexical.doc_terms(doc)
    runs: list[tuple[str, float]] = []
    run: list[tuple[str, float]] = []

    def close() -> None:
        together = " ".join(w for w, _ in run)
        if len(run) == 1 or phrase_in(together, text):
            runs.append((together, sum(idf for _, idf in run)))
        else:  # the paper holds these words apart: each is a match of its own
            runs.extend(run)
        run.clear()

    for word, terms, idf, specific in _phrase_words(phrase, lexical):
        if terms and specific and all(t in present for t in terms):
            run.append((word, idf))
        elif run:
            close()
    if run:
        close()
    runs.sort(key=lambda r: -r[1])
    return list(dict.fromkeys(r for r, _ in runs))[:limit]


# A sub-interest that opens with a connective ("And code generation.") is cited without it;
# the encoder still reads it as typed (dropping the word moved a judged profile's picks).
_LEAD = re.compile(r"^(?:and|or|plus|but)\s+(?=\S)", re.IGNORECASE)


def _short_interest(text: str) -> str:
    text = _LEAD.sub("", " ".join(text.split()))
    return text if len(text) <= INTEREST_CHARS else text[: INTEREST_CHARS - 1].rstrip() + "…"


def reasons_for(
    paper: Paper,
    parsed: ParsedProfile,
    *,
    words: Sequence[str] = (),
    closest_interest: str | None = None,
    liked: Paper | None = None,
    liked_sim: float = 0.0,
    matched: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """Reasons for one pick, strongest evidence first; at most four.

    Interest evidence, in order: the reader's phrases or keywords the paper contains as
    written; else their specific words it contains (``words``, cased as they typed them);
    else the sub-interest it is closest to in meaning. ``matched``: the phrases and
    examples the paper contains when already known (:func:`matched_in_doc`).
    """
    out: list[str] = []
    if matched is None:
        matched = matched_phrases(parsed.phrases + parsed.examples, paper)
    # a keyword that is also a named example ("Mamba") is one match, cited as first written
    matched = list({m.lower(): m for m in reversed(matched)}.values())[::-1]
    if matched:
        out.append("matches: " + ", ".join(matched))
    elif words:
        out.append("matches: " + ", ".join(words[:3]))
    elif closest_interest and not (liked is not None and closest_interest == liked.title):
        # (interests that are a linked paper's title say "because you liked" below instead)
        out.append(f"close to your interest: {_short_interest(closest_interest)}")
    if liked is not None and liked_sim >= LIKED_MIN and liked.id != paper.id:
        out.append(f"because you liked {_short(liked.title)}")
    followed = ([a for a in paper.authors if normalize_author(a) in parsed.authors]
                if parsed.authors else [])
    if followed:
        out.append("by " + ", ".join(followed[:2]))
    cats = [c for c in paper.categories if c in parsed.categories]
    if cats:
        out.append("in " + ", ".join(cats[:2]))
    if (paper.upvotes or 0) >= TRENDING_MIN:
        out.append(f"trending: {paper.upvotes} upvotes")
    return tuple(out[:4])
