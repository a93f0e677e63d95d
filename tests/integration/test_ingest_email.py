"""What the paper says is what the reader sees: from feed file through the store to the HTML
email and its text twin, with the product's own fetcher, ranker, renderer and composer
(field case 01, the TeX fixture, and a marked revision)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.config import load_settings
from digest.render.types import RenderedEmail
from digest.runtime import Runtime
from digest.store.papers import get_papers
from tests.feed_files import FEEDS

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CASES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "field_cases"
THINK = "Budgeted Reasoning: Teaching LLMs When to Stop Inside <think> Blocks"


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.chdir(tmp_path)  # demo mode keeps its signing secret here
    return Runtime(load_settings(database_url=f"sqlite:///{tmp_path / 'digest.db'}",
                                 outbox_dir=tmp_path / "outbox"))


def preview(rt: Runtime, interests: str) -> RenderedEmail:
    (_sub, rendered, _message), = rt.previews.build(interests=interests, now=NOW)
    return rendered


def test_field_case_01_reaches_the_email_exactly(runtime: Runtime) -> None:
    results = runtime.fetcher.fetch(now=NOW, urls=[str(CASES / "01_angle_brackets_rss.xml")])
    assert [r.status for r in results] == ["ok"]
    assert get_papers(runtime.engine, ["2611.09001"])["2611.09001"].title == THINK
    email = preview(runtime, "when reasoning models should stop thinking")
    assert "Stop Inside &lt;think&gt; Blocks" in email.html  # escaped in HTML
    assert "<think>" not in email.html
    assert THINK in " ".join(email.text.split())  # literal in the text twin


def test_tex_is_unicode_in_the_email_and_in_the_reasons(runtime: Runtime) -> None:
    runtime.fetcher.fetch(now=NOW, urls=[str(FEEDS / "fidelity" / "arxiv_rss_cs_ai_fidelity.xml")])
    email = preview(runtime, "Schrödinger bridges on Erdős–Rényi random graphs")
    text = " ".join(email.text.split())
    assert "Schrödinger Bridges for Erdős–Rényi Graphs" in text
    assert "María Rodríguez" in text
    assert '\\"' not in text and "\\'" not in text and "Erd\\H" not in text  # no TeX left
    # The reader's own words matched the decoded title (no TeX left to miss).
    assert "erdős" in text.lower().split("why it's here:")[1]


def test_an_included_revision_is_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rt = Runtime(load_settings(database_url=f"sqlite:///{tmp_path / 'digest.db'}",
                               outbox_dir=tmp_path / "outbox", include_revisions=True))
    rt.fetcher.fetch(now=NOW, urls=[str(CASES / "02_arxiv_replace_old_paper.xml")])
    email = preview(rt, "message passing graph neural networks for molecular property prediction")
    text = " ".join(email.text.split())
    assert "Why it's here: revised, v4;" in text and "revised, v4" in email.html
