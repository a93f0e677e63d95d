"""`digest run --once` exactly as the README runs it, in a fresh working directory."""

from __future__ import annotations

import html
import os
import subprocess
import sys
import tomllib
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from digest.store.schema import deliveries, papers, subscribers
from tests.smtp_sink import SmtpSink

REPO = Path(__file__).resolve().parents[2]
DIGEST = Path(sys.executable).with_name("digest")
DEMO = sorted(tomllib.loads(p.read_text())["email"] for p in (REPO / "subscribers").glob("*.toml"))


def run(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    clean.update(env or {}, COLUMNS="200")
    return subprocess.run([str(DIGEST), *args], cwd=workdir, env=clean, capture_output=True,
                          text=True, timeout=180)


def picked_titles(workdir: Path) -> dict[str, list[str]]:
    engine = create_engine(f"sqlite:///{workdir / 'digest.db'}")
    with engine.connect() as conn:
        titles = dict(conn.execute(select(papers.c.id, papers.c.title)).all())
        rows = conn.execute(
            select(subscribers.c.email, deliveries.c.picks)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        ).all()
    engine.dispose()
    return {email: [titles[p["id"]] for p in picks] for email, picks in rows}


def parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    text_part, html_part = message.get_payload()  # type: ignore[misc]
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    return text_part.get_content(), html_part.get_content()


def _squash(s: str) -> str:
    return " ".join(s.split())


def test_first_readme_command_leaves_one_email_per_demo_subscriber(workdir: Path) -> None:
    result = run(workdir, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "outbox" in result.stdout and "DIGEST_SMTP__HOST" in result.stdout
    files = sorted((workdir / "outbox").glob("*.eml"))
    assert len(files) == len(DEMO) == 4
    titles = picked_titles(workdir)
    seen = []
    for path in files:
        message: EmailMessage = message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[assignment]
        to = message["To"].addresses[0].addr_spec
        seen.append(to)
        text, body = parts(message)
        assert titles[to], f"no picks recorded for {to}"
        for title in titles[to]:
            assert _squash(title) in _squash(text)
            assert _squash(html.escape(title, quote=False)) in _squash(body) or \
                _squash(title) in _squash(html.unescape(body))
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sorted(seen) == DEMO

    again = run(workdir, "run", "--once")
    assert again.returncode == 0, again.stderr
    assert len(list((workdir / "outbox").glob("*.eml"))) == 4  # nothing new, nothing doubled


def test_smtp_delivery_once_per_subscriber_and_rerun_sends_nothing(workdir: Path) -> None:
    with SmtpSink() as sink:
        env = {"DIGEST_SMTP__HOST": sink.host, "DIGEST_SMTP__PORT": str(sink.port)}
        first = run(workdir, "run", "--once", env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"SMTP {sink.host}:{sink.port}" in first.stdout
        assert sorted(r.recipients[0] for r in sink.handler.received) == DEMO
        for received in sink.handler.received:
            parts(received.message)
        second = run(workdir, "run", "--once", env=env)
        assert second.returncode == 0, second.stderr
        assert len(sink.handler.received) == len(DEMO)
    assert not (workdir / "outbox").exists()


@pytest.mark.parametrize(("name", "value"), [("DIGEST_SMTP__PORT", "abc"),
                                             ("DIGEST_DATABASE_URL", "nosuchdb://x")])
def test_bad_setting_exits_2_with_one_line_naming_it(workdir: Path, name: str, value: str) -> None:
    result = run(workdir, "run", "--once", env={name: value})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and name in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_dead_smtp_server_is_reported_and_loses_nothing(workdir: Path) -> None:
    from tests.smtp_sink import free_port

    env = {"DIGEST_SMTP__HOST": "127.0.0.1", "DIGEST_SMTP__PORT": str(free_port())}
    result = run(workdir, "run", "--once", env=env)
    # Every connection refused alike: a configuration error (issue 15's exit-code rule,
    # shared with `digest send`), named in one line.
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "DIGEST_SMTP__PORT" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    # Nothing was marked sent; with the server back, the same run delivers everything.
    with SmtpSink() as sink:
        env["DIGEST_SMTP__PORT"] = str(sink.port)
        engine = create_engine(f"sqlite:///{workdir / 'digest.db'}")
        with engine.begin() as conn:  # let the retries fall due now instead of after backoff
            conn.execute(deliveries.update().values(next_attempt_at=None))
        engine.dispose()
        again = run(workdir, "run", "--once", env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert sorted(r.recipients[0] for r in sink.handler.received) == DEMO
