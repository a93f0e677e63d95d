"""Where feed test inputs live: committed under tests/fixtures/feeds/, else (reference-only
files we may not redistribute) in the shared copy beside the checkout, else the test skips."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FEEDS = REPO / "tests" / "fixtures" / "feeds"

# Upstream shows no licence for these, so they are never committed: tests read them from
# <checkout>/../shared/realdata/<same path> (see tests/fixtures/feeds/SOURCES.md).
REFERENCE_ONLY: tuple[str, ...] = (
    "arxiv_rss/rss_cs_ai_2026-04-27_jmamath-distill.xml",
    "arxiv_rss/rss_cs_cl_2026-04-27_jmamath-distill.xml",
    "arxiv_rss/rss_cs_lg_2026-04-27_jmamath-distill.xml",
    "arxiv_rss/rss_cs_cl_weekend_empty_2026-08-01_All-News-AI.xml",
    "arxiv_api/api_cat_cs.LG_OR_cs.AI_max20_brevio-ai.xml",
    "arxiv_api/api_cs.AI_LG_CL_max25_personal-news-feed.xml",
    "hf_papers/daily_papers_2026-07-31_personal-news-feed.min.json",
    "hf_papers/daily_papers_2026-07-31_All-News-AI.json",
    "hf_papers/hf_daily_papers_rss_feedgen_2026-04-30_brevio-ai.xml",
    "hf_papers/takara_tldr_daily_papers_rss_2026-04-30_brevio-ai.xml",
    "other_feeds/cn-chat-arxiv_stat.ML_2026-08-21_derived.xml",
    "other_feeds/cn-chat-arxiv_stat.ML_empty_channel.xml",
    "other_feeds/Toseic-Arxiv-RSS_derived_no_version_bad_dates.xml",
)


def checkouts(repo: Path = REPO) -> list[Path]:
    """This checkout and, when it is a linked git worktree, its main checkout: shared/ sits
    beside the main one (and beside a CI clone), not necessarily beside every worktree."""
    found = [repo]
    dotgit = repo / ".git"
    if not dotgit.is_file():
        return found
    text = dotgit.read_text().strip()
    if not text.startswith("gitdir:"):
        return found
    gitdir = (repo / text.removeprefix("gitdir:").strip()).resolve()
    commondir = gitdir / "commondir"
    common = (gitdir / commondir.read_text().strip()).resolve() if commondir.is_file() else None
    if common is not None and common.name == ".git" and common.parent != repo:
        found.append(common.parent)
    return found


def reference_dirs(repo: Path = REPO) -> list[Path]:
    """Candidate shared reference copies: <checkout>/../shared/realdata for each checkout."""
    return [checkout.parent / "shared" / "realdata" for checkout in checkouts(repo)]


def locate(rel: str, roots: Sequence[Path]) -> Path | None:
    """The first ``root/rel`` that is a file, or None."""
    return next((root / rel for root in roots if (root / rel).is_file()), None)


def feed_file(rel: str, roots: Sequence[Path] | None = None) -> Path:
    """The committed fixture ``rel``, else its shared reference copy; skips the calling test
    when neither is there (e.g. a clone without ../shared)."""
    path = locate(rel, [FEEDS, *reference_dirs()] if roots is None else roots)
    if path is None:
        pytest.skip(f"{rel}: reference-only input not available "
                    "(see tests/fixtures/feeds/SOURCES.md)")
    return path


def reference_files() -> list[Path]:
    """The reference-only inputs that are available here (none without ../shared)."""
    dirs = reference_dirs()
    return [path for rel in REFERENCE_ONLY if (path := locate(rel, dirs)) is not None]
