"""A reader's private Atom feed (RFC 4287) of their editions, as XML bytes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

if TYPE_CHECKING:  # a type only: the reader's module imports the ranker
    from digest.app.reader import FeedEntry


ATOM = "http://www.w3.org/2005/Atom"


def _stamp(when: datetime) -> str:
    """RFC 3339 date-time, as Atom's updated/published require (UTC, ``Z``)."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _urn(name: str) -> str:
    # Stable across feed-key changes (the id must never change, RFC 4287 4.2.6), and
    # revealing nothing a reader could use.
    return uuid.uuid5(uuid.NAMESPACE_URL, name).urn


def atom_feed(*, title: str, self_url: str, home_url: str, feed_name: str,
              entries: Sequence[FeedEntry], contents: Sequence[str], now: datetime) -> bytes:
    """The feed document: ``feed_name`` names the feed for its permanent id (e.g. the base
    URL and the subscriber); ``contents`` holds each entry's HTML, in ``entries`` order.
    ``updated`` is the newest entry's time, or ``now`` when there is none yet."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "id", _urn(f"{feed_name}/feed"))
    sub(feed, "title", title)
    sub(feed, "updated", _stamp(entries[0].sent_at if entries else now))
    author = sub(feed, "author")
    sub(author, "name", title)
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=home_url)
    for entry, html in zip(entries, contents, strict=True):
        item = sub(feed, "entry")
        sub(item, "id", _urn(f"{feed_name}/edition/{entry.key}"))
        sub(item, "title", entry.subject)
        sub(item, "updated", _stamp(entry.sent_at))
        sub(item, "published", _stamp(entry.sent_at))
        sub(item, "link", rel="alternate", type="text/html", href=entry.view_url)
        sub(item, "content", html, type="html")
    out: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return out
