"""Outside text is data in the terminal (issue 14): what a feed or a server says is printed
as written — never read as Rich markup, never as terminal escapes — and never stops a run.

The hostile strings are the issue's own: ``[/]`` (which Rich refuses with MarkupError),
well-formed markup (``[link=…]``) that Rich would turn into a hyperlink, and an ANSI colour
escape. The feeds have the recorded shapes of arXiv's API error reply
(tests/fixtures/feeds/arxiv_api/arxivpy_bodies/arxivpy_id_abc_*.xml) and of arXiv's RSS.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.smtp_sink import ScriptedHandler, SmtpSink

DIGEST = Path(sys.executable).with_name("digest")
MARKUP = "[/] [link=https://example.org]x[/link]"
HOSTILE = MARKUP + " \x1b[31mred"

API_ERROR = f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/</id>
  <title>arXiv Search Results</title>
  <updated>2026-04-12T22:59:06Z</updated>
  <opensearch:totalResults>1</opensearch:totalResults>
  <entry>
    <id>https://arxiv.org/api/errors#incorrect_id_format_for_abc</id>
    <title>Error</title>
    <updated>2026-04-12T22:59:06Z</updated>
    <link href="https://arxiv.org/api/errors#incorrect_id_format_for_abc" rel="alternate"/>
    <summary>{HOSTILE}</summary>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>
"""

RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>cs.LG updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.LG</link>
    <description>cs.LG updates</description>
    <item>
      <title>{HOSTILE} attention in transformers</title>
      <link>https://arxiv.org/abs/2501.00001</link>
      <description>arXiv:2501.00001v1 Announce Type: new
Abstract: We study attention in transformers for sequence models.</description>
      <guid isPermaLink="false">oai:arXiv.org:2501.00001v1</guid>
      <category>cs.LG</category>
      <pubDate>Fri, 14 Mar 2025 00:00:00 -0400</pubDate>
      <arxiv:announce_type>new</arxiv:announce_type>
      <dc:creator>A. Author</dc:creator>
    </item>
  </channel>
</rss>
"""


def run(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    clean.update(env or {}, COLUMNS="400")
    return subprocess.run([str(DIGEST), *args], cwd=workdir, env=clean, capture_output=True,
                          text=True, timeout=180)


def _literal(out: str) -> None:
    """The markup is shown as written (one line), and no escape reached the terminal."""
    assert MARKUP in out, out
    assert "\x1b" not in out
    assert "MarkupError" not in out and "Traceback" not in out


def test_run_once_with_a_hostile_feed_error_delivers_everything_and_prints_it(
        workdir: Path) -> None:
    (workdir / "api_error.xml").write_text(API_ERROR, encoding="utf-8")
    env = {"DIGEST_FEEDS": "seeds/arxiv_seed.xml,api_error.xml"}
    result = run(workdir, "run", "--once", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list((workdir / "outbox").glob("*.eml"))) == 4  # every demo reader's digest
    _literal(result.stdout)
    assert "arXiv API error: " + MARKUP in result.stdout

    status = run(workdir, "status", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    _literal(status.stdout)

    fetched = run(workdir, "fetch", env=env)
    _literal(fetched.stdout)


def test_rank_prints_a_hostile_title_literally(workdir: Path) -> None:
    (workdir / "hostile.xml").write_text(RSS, encoding="utf-8")
    result = run(workdir, "rank", "--feed", "hostile.xml", "--interests", "attention transformers")
    assert result.returncode == 0, result.stdout + result.stderr
    _literal(result.stdout)
    assert f"{MARKUP} [31mred attention in transformers" in result.stdout


def test_send_prints_a_hostile_server_reply_literally(workdir: Path) -> None:
    # An SMTP server's reply text is the server's to choose; this one refuses one reader.
    victim = "ada@example.org"
    handler = ScriptedHandler(script={victim: [f"450 4.2.0 {HOSTILE}"] * 10})
    with SmtpSink(handler) as sink:
        # No waiting for the retry within the run (the default window is 120 s): what is
        # under test is how the refusal is printed, not the backoff.
        env = {"DIGEST_SMTP__HOST": sink.host, "DIGEST_SMTP__PORT": str(sink.port),
               "DIGEST_SMTP__RETRY_WINDOW_SECONDS": "0"}
        assert run(workdir, "subscribers", "sync", "subscribers").returncode == 0
        assert run(workdir, "fetch").returncode == 0
        result = run(workdir, "send", env=env)
        assert result.returncode == 1, result.stdout + result.stderr  # one waits for a retry
        _literal(result.stderr)
        assert len(sink.handler.received) == 3  # the others got theirs
        status = run(workdir, "status", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    _literal(status.stdout)
