"""A reader's interests as they wrote them: sub-interests that each mean something on their own.

A sign-up form gets lists ("KV cache, Mamba"), sentences with alternatives ("tools that notice
when a model has seen the test set, or that catch leaked benchmarks, so results can be
trusted") and several sentences. Lists split into their items; a sentence stays whole, because
its clauses ("so results can be trusted") mean nothing alone. Measured on the judged sets'
worded-unlike profiles, cutting sentences at commas and conjunctions cost nDCG@5 0.581 -> 0.423
(issue 17), while splitting real lists helps.
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from digest.text import clean_interests, references

MAX_ITEM_WORDS = 5  # a list item is a noun phrase ("linear-time sequence models"), not a clause
MAX_INTERESTS = 8  # each one is embedded per subscriber: bounded cost, and a profile is not a corpus
# Words that carry no topic in a sign-up sentence: a fragment made only of these and stop
# words ("Two things", "Also interested in") is a lead-in, not a sub-interest.
FILLER = frozenset(
    {
        "also", "especially", "interested", "interest", "interests", "like", "love", "mainly", "mostly",
        "particular", "particularly", "really", "stuff", "thing", "things", "topic", "topics", "want",
        "work", "working", "study", "studying", "follow", "following", "care", "read", "reading",
        "research", "papers", "paper", "ones", "one", "two", "three", "separately", "lately",
        "currently", "need", "needs", "wants", "make", "makes", "making", "use", "uses", "using", "get",
        "gets", "getting", "lot", "lots", "way", "ways", "kind", "sort"
    }
)
# Words that open a clause: an "item" holding one is part of a sentence ("assistants that
# write and fix software"), not a list entry.
CLAUSE = frozenset(
    {
        "that", "which", "who", "whom", "whose", "when", "where", "while", "whether", "if", "because",
        "so", "than", "how", "why", "what", "without"
    }
)
_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|etc|vs|cf|approx|incl|resp|al|dr|prof|mr|ms|mrs|st)\.",
                            re.IGNORECASE)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|[\n;•]+|\s+-\s+|\(\d+\)|\b\d+\)\s")
_LIST = re.compile(r"\s*,\s*(?:(?:and|or)\s+)?|\s*/\s*|\s+(?:and|or|&|and/or)\s+", re.IGNORECASE)
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
# What a reader names as an instance ("state space models like Mamba", "(S4, Mamba)"): the
# most specific words they type, kept as lexical channels of their own, like keywords.
_EXAMPLE_LEAD = re.compile(r"\b(?:like|such as|e\.g\.?|for example|for instance|including|"
                           r"especially)\s+([^.;:()\[\]]+)", re.IGNORECASE)
_IN_BRACKETS = re.compile(r"[(\[]([^()\[\]]+)[)\]]")
MAX_EXAMPLE_WORDS = 4
# A list marker opening an item: "1." / "2)" / "*" / "•" / "-" at the start of a line or of
# the text, or after a space when the form put the whole list on one line.
_MARKER = re.compile(r"(?:^|(?<=[\s;]))(?:\d{1,2}[.)]|[*\u2022\u00b7\u2023\u25aa\u2043+-])\s+(?=\S)")
_WORD = re.compile(r"[\w][\w\-+.']*\w|\w")
_STRIP = " .,:;-\t\"'\u201c\u201d\u2018\u2019!?"  # ASCII and typographic quotes


def words(text: str) -> list[str]:
    """The words of ``text`` as written (case kept; 'long-context' and 'S4' are one word)."""
    return _WORD.findall(text)


def meaningful(fragment: str) -> bool:
    """True when ``fragment`` names a topic: it has a word that is neither a stop word nor filler."""
    return any(w.lower() not in ENGLISH_STOP_WORDS and w.lower() not in FILLER for w in words(fragment))


def _clean(fragment: str) -> str:
    return " ".join(fragment.split()).strip(_STRIP)


def has_topic(text: str | None) -> bool:
    """True when ``text`` names something to rank by: a topic word or an arXiv paper (not
    "???", "the and of", bare markup or escape codes)."""
    ids, rest = references(clean_interests(text))
    return bool(ids) or meaningful(rest)


def _list_items(segment: str) -> list[str] | None:
    """The items of ``segment`` when it is a list of short noun phrases, else None.

    Bracketed examples ("state space models (S4, Mamba)") stay with the item they follow.
    """
    held: list[str] = []

    def hold(m: re.Match[str]) -> str:
        held.append(m.group(0))
        return f"\x00{len(held) - 1}\x00"

    masked = _BRACKETS.sub(hold, segment)
    items = [_clean(p) for p in _LIST.split(masked)]
    items = [i for i in items if i]
    if len(items) < 2:
        return None
    bare = [re.sub(r"\x00\d+\x00", " ", i) for i in items]
    if any(len(words(b)) > MAX_ITEM_WORDS or not meaningful(b) for b in bare):
        return None
    if any(w.lower() in CLAUSE for b in bare for w in words(b)):
        return None
    return [_clean(re.sub(r"\x00(\d+)\x00", lambda m: held[int(m.group(1))], i)) for i in items]


def _sentences(text: str | None) -> list[str]:
    """The sentences (and list parts) of what the reader wants, periods of abbreviations kept
    as "\x01", what they do not want dropped (``_NEGATION``)."""
    listed = _MARKER.sub("; ", clean_interests(text))
    protected = _ABBREVIATIONS.sub(lambda m: m.group(0).replace(".", "\x01"), listed)
    out = []
    for sentence in _SENTENCES.split(protected):
        if sentence.strip():
            out.append(sentence)
    return out


def wanted(text: str | None) -> str:
    """``text`` as the reader wrote it, less what they said they do not want: the whole-text
    query (an encoder would read "not interested in crypto" as crypto). Text that says no
    such thing comes back as written."""
    # Negations are not read yet (a first rule, cutting from "not"/"except" to the end of the
    # sentence, erased wanted topics in a breaker's tests): the text is the query as typed.
    return text or ""


def sub_interests(text: str) -> tuple[str, ...]:
    """The reader's sub-interests, each as written: list items, or whole sentences.

    'KV cache, long context and protein design' -> ('KV cache', 'long context', 'protein
    design'); a sentence with clauses is one sub-interest; 'Two things: (1) X; (2) Y' -> (X, Y).
    At most MAX_INTERESTS, first ones first, duplicates (any case) dropped.
    """
    out: dict[str, str] = {}
    for sentence in _sentences(text):
        # A colon joins a lead-in and what it introduces; each is a sub-interest if it means
        # something alone ("Two things:" does not).
        for segment in sentence.split(":"):
            segment = _clean(segment.replace("\x01", "."))
            if not meaningful(segment):
                continue
            for item in _list_items(segment) or [segment]:
                if meaningful(item):
                    out.setdefault(item.lower(), item)
    return tuple(out.values())[:MAX_INTERESTS]


def examples(text: str) -> tuple[str, ...]:
    """The instances a reader names, as written: 'SSMs (S4, Mamba)' -> ('S4', 'Mamba');
    'models like Mamba or RWKV' -> ('Mamba', 'RWKV'). Each is a short noun phrase; a clause
    after "like" ("like to read about...") is not an example."""
    found: dict[str, str] = {}
    text = clean_interests(text)
    spans = [m.group(1) for m in _EXAMPLE_LEAD.finditer(text)]
    spans += [m.group(1) for m in _IN_BRACKETS.finditer(text)]
    for span in spans:
        for item in _LIST.split(span):
            item = _clean(item)
            said = [w.lower() for w in words(item)]
            if (item and meaningful(item) and len(said) <= MAX_EXAMPLE_WORDS
                    and said[0] != "to" and re.search(r"[^\W\d_]", item)
                    and not any(w in CLAUSE for w in said)):
                found.setdefault(item.lower(), item)
    return tuple(found.values())
