"""Which feeds to read: ``FeedSpec`` and the settings syntax that lists them.

An entry is ``URL_OR_PATH``, ``KIND:URL_OR_PATH``, ``NAME=URL_OR_PATH`` or
``NAME=KIND:URL_OR_PATH``; KIND is one of ``detect.KINDS`` (default ``auto``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from digest.errors import ConfigError
from digest.feeds.detect import KINDS

_GENERIC = {"", "query", "rss", "atom", "feed", "feeds", "api", "index", "papers"}
_SUFFIXES = (".xml", ".rss", ".atom", ".json", ".rdf")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    name: str
    url: str  # http(s) URL, file:// URL or local path
    kind: str = "auto"  # see detect.KINDS


def default_name(url: str) -> str:
    """A short readable name: the last path segment, or host+path when that says nothing."""
    parts = urlsplit(url)
    path = parts.path if parts.scheme else url
    last = PurePosixPath(path.replace("\\", "/")).name
    for suffix in _SUFFIXES:
        if last.lower().endswith(suffix):
            last = last[: -len(suffix)]
            break
    if last.lower() in _GENERIC and parts.netloc:
        return (parts.netloc + parts.path).rstrip("/")
    return last or url


def _split_kind(value: str) -> tuple[str, str]:
    head, sep, rest = value.partition(":")
    if sep and head.strip().lower() in KINDS:
        return head.strip().lower(), rest.strip()
    return "auto", value.strip()


def parse_feed_specs(entries: Sequence[str]) -> list[FeedSpec]:
    """Specs from settings/CLI entries (see the module docstring); duplicates dropped."""
    specs: list[FeedSpec] = []
    seen: set[str] = set()
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        name, sep, rest = entry.partition("=")
        # "=" inside a URL's query is not a name separator.
        if not sep or any(c in name for c in "/:?&\\") or not name.strip():
            name, rest = "", entry
        kind, url = _split_kind(rest)
        if not url:
            raise ConfigError(f"DIGEST_FEEDS: entry {raw!r} names no URL or path")
        if url in seen:
            continue
        seen.add(url)
        specs.append(FeedSpec(name=name.strip() or default_name(url), url=url, kind=kind))
    return specs
