"""tests/feed_files.py: committed fixture first, then the shared reference copy beside the
checkout (also for a linked git worktree), else a skip that names the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.feed_files import FEEDS, REFERENCE_ONLY, checkouts, feed_file, reference_dirs

REL = "arxiv_rss/some_feed.xml"


def put(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_committed_copy_wins_over_the_reference(tmp_path: Path) -> None:
    committed = put(tmp_path / "feeds", REL, "committed")
    put(tmp_path / "realdata", REL, "reference")
    assert feed_file(REL, [tmp_path / "feeds", tmp_path / "realdata"]) == committed


def test_falls_back_to_the_reference_copy(tmp_path: Path) -> None:
    (tmp_path / "feeds" / "arxiv_rss").mkdir(parents=True)
    reference = put(tmp_path / "realdata", REL, "reference")
    assert feed_file(REL, [tmp_path / "feeds", tmp_path / "realdata"]) == reference


def test_absent_everywhere_skips_and_says_which_file(tmp_path: Path) -> None:
    put(tmp_path / "realdata", "arxiv_rss", "a file, not the directory we look into")
    with pytest.raises(pytest.skip.Exception) as skipped:
        feed_file(REL, [tmp_path / "feeds", tmp_path / "realdata", tmp_path / "nowhere"])
    assert str(skipped.value) == (f"{REL}: reference-only input not available "
                                  "(see tests/fixtures/feeds/SOURCES.md)")


def test_plain_clone_looks_beside_itself(tmp_path: Path) -> None:
    repo = tmp_path / "ci" / "digest"
    (repo / ".git").mkdir(parents=True)
    assert checkouts(repo) == [repo]
    assert reference_dirs(repo) == [tmp_path / "ci" / "shared" / "realdata"]


def test_linked_worktree_also_looks_beside_its_main_checkout(tmp_path: Path) -> None:
    main, worktree = tmp_path / "main", tmp_path / "wt" / "fixtures"
    gitdir = main / ".git" / "worktrees" / "fixtures"
    gitdir.mkdir(parents=True)
    (gitdir / "commondir").write_text("../..\n")
    worktree.mkdir(parents=True)
    (worktree / ".git").write_text(f"gitdir: {gitdir}\n")
    assert checkouts(worktree) == [worktree, main]
    assert reference_dirs(worktree) == [tmp_path / "wt" / "shared" / "realdata",
                                        tmp_path / "shared" / "realdata"]


def test_reference_only_inputs_are_not_committed() -> None:
    """No licence visible upstream: they must stay out of the repository."""
    assert [rel for rel in REFERENCE_ONLY if (FEEDS / rel).exists()] == []
    sources = (FEEDS / "SOURCES.md").read_text()
    assert all(Path(rel).name in sources for rel in REFERENCE_ONLY)
