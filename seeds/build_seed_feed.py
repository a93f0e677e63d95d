"""Build seeds/arxiv_seed.xml: the 60 seed papers as an rss.arxiv.org-style RSS 2.0 feed.

Titles and abstracts come verbatim from source/seed_papers.txt (title line, then abstract
line); ids, authors and categories from source/seed_papers_metadata.json, matched by order
and checked by title. Run: python seeds/build_seed_feed.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).parent
NAMESPACES = ('xmlns:arxiv="http://arxiv.org/schemas/atom" '
              'xmlns:atom="http://www.w3.org/2005/Atom" '
              'xmlns:dc="http://purl.org/dc/elements/1.1/"')
HEADER_LINES = {"new", "Get trending papers in your email inbox!", "Subscribe",
                "byAK and the research community", "Mar 14"}
PUB_DATE = "Fri, 14 Mar 2025 00:00:00 -0400"


def read_pairs(text: str) -> list[tuple[str, str]]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    while lines and lines[0] in HEADER_LINES:
        lines.pop(0)
    if len(lines) % 2:
        raise SystemExit(f"expected title/abstract pairs, got {len(lines)} lines")
    return [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]


def item_xml(title: str, abstract: str, meta: dict) -> str:
    aid = meta["arxiv_id"]
    authors = ", ".join(meta["authors"])
    # A few seed papers have no known primary category: leave the element out, as a
    # feed would, rather than invent one.
    category = meta.get("primary_category")
    category_xml = f"\n      <category>{escape(category)}</category>" if category else ""
    return f"""    <item>
      <title>{escape(title)}</title>
      <link>https://arxiv.org/abs/{aid}</link>
      <description>arXiv:{aid}v1 Announce Type: new
Abstract: {escape(abstract)}</description>
      <guid isPermaLink="false">oai:arXiv.org:{aid}v1</guid>{category_xml}
      <pubDate>{PUB_DATE}</pubDate>
      <arxiv:announce_type>new</arxiv:announce_type>
      <dc:rights>http://arxiv.org/licenses/nonexclusive-distrib/1.0/</dc:rights>
      <dc:creator>{escape(authors)}</dc:creator>
    </item>
"""


def build() -> str:
    pairs = read_pairs((HERE / "source" / "seed_papers.txt").read_text(encoding="utf-8"))
    metadata = sorted(json.loads((HERE / "source" / "seed_papers_metadata.json").read_text()),
                      key=lambda m: m["n"])
    if len(pairs) != len(metadata):
        raise SystemExit(f"{len(pairs)} papers in the text but {len(metadata)} in metadata")
    items = []
    for (title, abstract), meta in zip(pairs, metadata, strict=True):
        if meta["title"].strip() != title:
            raise SystemExit(f"paper {meta['n']}: title mismatch {meta['title']!r} != {title!r}")
        items.append(item_xml(title, abstract, meta))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss {NAMESPACES} version="2.0">
  <channel>
    <title>digest seed papers (arXiv RSS format)</title>
    <link>http://rss.arxiv.org/rss/cs.LG</link>
    <description>The 60 seed papers of digest, in the format of rss.arxiv.org.</description>
    <atom:link href="http://rss.arxiv.org/rss/cs.LG" rel="self" type="application/rss+xml" />
    <docs>http://www.rssboard.org/rss-specification</docs>
    <language>en-us</language>
    <lastBuildDate>{PUB_DATE}</lastBuildDate>
    <managingEditor>rss-help@arxiv.org</managingEditor>
    <pubDate>{PUB_DATE}</pubDate>
{"".join(items)}  </channel>
</rss>
"""


if __name__ == "__main__":
    out = HERE / "arxiv_seed.xml"
    out.write_text(build(), encoding="utf-8")
    print(f"wrote {out} ({len(read_pairs((HERE / 'source' / 'seed_papers.txt').read_text()))} papers)",
          file=sys.stderr)
