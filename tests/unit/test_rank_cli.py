"""The ``digest rank`` contract, run through Typer on a small app built here, and its loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from digest.app.rank import read_feed_files
from digest.cli.rank import register

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
HF = DATA / "hf_daily_papers_2026-06-12.json"
TRANSFORMER = DATA / "arxiv_api_transformer_5.xml"

ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
 <entry>
  <id>http://arxiv.org/abs/2601.00042v2</id>
  <published>2026-06-10T00:00:00Z</published>
  <title type="html">Inverse folding &lt;b&gt;with&lt;/b&gt; diffusion</title>
  <summary>Generate amino acid sequences for a target backbone.</summary>
  <author><name>A. Author</name></author>
  <category term="q-bio.BM"/>
  <link href="http://arxiv.org/abs/2601.00042v2" rel="alternate" type="text/html"/>
 </entry>
 <entry>
  <id>http://arxiv.org/abs/hep-ph/0301050v1</id>
  <title>Statistical test of anarchy</title>
  <summary>Neutrino masses.</summary>
 </entry>
</feed>"""


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:  # a group, so "rank" stays a subcommand as in the real app
        pass

    register(app)
    return app


def test_json_output_is_only_an_array_of_picks_best_first(app: typer.Typer, tmp_path: Path) -> None:
    # A slice of the real HF capture keeps the test fast (every paper gets embedded).
    items = json.loads(HF.read_bytes())
    keep = {"2606.13392", "2606.12243", "2606.13681", "2606.12575", "2606.08103"}
    hf = tmp_path / "hf.json"
    hf.write_text(json.dumps([i for i in items if i["paper"]["id"] in keep]))
    result = CliRunner().invoke(
        app,
        [
            "rank",
            "--interests",
            "sparse attention for long context LLMs",
            "--feed",
            str(hf),
            "--feed",
            str(TRANSFORMER),
            "--top",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    picks = json.loads(result.stdout)
    assert isinstance(picks, list) and len(picks) == 3
    for pick in picks:
        assert {"id", "title", "score", "reasons"} <= pick.keys()
        assert isinstance(pick["score"], float) and isinstance(pick["reasons"], list)
        assert pick["reasons"] and all(isinstance(r, str) for r in pick["reasons"])
    assert picks[0]["id"] == "2606.13392"  # MiniMax Sparse Attention
    assert "trending: 103 upvotes" in picks[0]["reasons"]


def test_text_output_lists_picks_with_reasons(app: typer.Typer, tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(ATOM)
    result = CliRunner().invoke(app, ["rank", "--interests", "protein design", "--feed", str(feed)])
    assert result.exit_code == 0, result.stderr
    assert "Inverse folding with diffusion" in result.stdout
    # 1 of 2 papers cleared the floor, 10 were asked
    assert "Quiet: only 1 of 2 papers cleared the relevance bar." in result.stdout


def test_missing_feed_file_is_a_clear_error(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["rank", "--interests", "x", "--feed", str(tmp_path / "nope.xml"), "--json"]
    )
    assert result.exit_code == 2
    assert "feed file not found" in result.stderr
    assert result.stdout == ""


def test_loader_reads_atom_and_hf_json_and_normalizes_ids(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(ATOM)
    files = read_feed_files([feed, HF, feed])
    assert files.problems == []
    papers = files.papers
    assert [p.id for p in papers[:2]] == ["2601.00042", "hep-ph/0301050"]
    first = papers[0]
    assert first.title == "Inverse folding with diffusion"  # markup stripped
    assert first.authors == ("A. Author",) and first.categories == ("q-bio.BM",)
    assert first.published is not None and first.published.tzinfo is not None
    hf = {p.id: p for p in papers}["2606.13681"]
    assert hf.upvotes == 118 and hf.summary
    assert len(papers) == 2 + 30  # the repeated file adds nothing


def test_loader_reports_what_is_not_a_feed(tmp_path: Path) -> None:
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"\x00\x01 not xml at all <<<")
    files = read_feed_files([junk])
    assert files.papers == [] and [path for path, _ in files.problems] == [str(junk)]


def test_a_web_page_given_as_feed_is_reported_as_fetch_reports_it(app: typer.Typer,
                                                                  tmp_path: Path) -> None:
    # Regression: a second, private parser once read this as "quiet week: 0 of 0 papers", exit 0.
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><html><head><title>arXiv</title></head>"
                    "<body><p>Not a feed.</p></body></html>")
    result = CliRunner().invoke(app, ["rank", "--interests", "protein design", "--feed",
                                      str(page), "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert str(page) in result.stderr and "html page" in result.stderr.lower()


def test_json_quiet_week_keeps_stdout_pure_and_says_so_on_stderr(
    app: typer.Typer, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(ATOM)
    args = ["rank", "--interests", "protein design", "--feed", str(feed), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert [p["id"] for p in json.loads(result.stdout)] == ["2601.00042"]
    assert result.stderr.strip() == "quiet: only 1 pick cleared the relevance bar"


def test_feed_ranking_keeps_paper_vectors_in_the_user_cache(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    feed = tmp_path / "feed.xml"
    feed.write_bytes(ATOM)
    args = ["rank", "--interests", "protein design", "--feed", str(feed), "--json"]
    first = CliRunner().invoke(app, args)
    again = CliRunner().invoke(app, args)
    assert first.exit_code == again.exit_code == 0
    assert json.loads(first.stdout) == json.loads(again.stdout)
    with sqlite3.connect(tmp_path / "cache" / "digest" / "embeddings.sqlite") as conn:
        # two papers, each its title + abstract and its title alone
        assert conn.execute("SELECT count(*) FROM vectors").fetchone() == (4,)


@pytest.mark.parametrize("text", ["???", "the and of", "   ", "<b></b>", "\x1b[31m\x1b[0m"])
def test_interests_without_a_topic_word_are_a_usage_error(app: typer.Typer, text: str) -> None:
    result = CliRunner().invoke(app, ["rank", "--interests", text, "--feed", str(HF), "--json"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --interests")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_an_arxiv_link_in_the_interests_means_papers_like_that_one(app: typer.Typer) -> None:
    papers = read_feed_files([HF]).papers
    liked = papers[0]
    result = CliRunner().invoke(app, ["rank", "--interests", f"https://arxiv.org/abs/{liked.id}v2",
                                      "--feed", str(HF), "--json"])
    assert result.exit_code == 0, result.output
    picks = json.loads(result.stdout)
    assert picks and liked.id not in [p["id"] for p in picks]  # it is the query, not a pick
    for pick in picks:
        assert not any(r in ("matches: https", "matches: arxiv.org") or "arxiv.org" in r
                       for r in pick["reasons"])
        # said once: "because you liked <title>", not also "close to your interest: <title>"
        assert sum(liked.title[:40] in r for r in pick["reasons"]) <= 1
