"""The worker-process build path (DIGEST_SMTP__BUILD_PROCESSES): a real edition through
spawned workers to a real aiosmtpd sink, and the workers' messages against the in-process
ones."""

from __future__ import annotations

import re
import resource
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine

from digest.app.build_mail import read_jobs
from digest.app.build_pool import BuildPool, MakerRecipe, processes_for
from digest.config import load_settings
from digest.runtime import Runtime
from digest.store import claims
from tests.build_reference import NOW, SECRET, populate
from tests.send_world import populate as populate_send
from tests.send_world import run_send, runtime, smtp_env, states
from tests.smtp_sink import SmtpSink

# A signed token: payload (maybe "."-prefixed when compressed), timestamp, signature.
_TOKEN = re.compile(r"\.?[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,8}\.[A-Za-z0-9_-]{27}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_worker_processes_deliver_every_message_once(
        engine: Engine, db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    emails = [f"reader{i}@example.org" for i in range(60)]
    ids = populate_send(engine, emails)
    rt = runtime(db_url, smtp_sink.port, tmp_path, build_processes=2, claim_batch=20)
    before = _children_cpu()
    try:
        report = rt.delivery.deliver()
    finally:
        rt.close()
    assert _children_cpu() > before  # the worker processes ran (and were waited for)
    assert report.sent == 60
    assert smtp_sink.handler.counts() == {e: 1 for e in emails}
    assert set(states(engine).values()) == {"sent"}
    assert sorted(states(engine)) == sorted(ids.values())


def test_digest_send_command_with_worker_processes(
        engine: Engine, db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    """``python -m digest.cli send``: spawned workers must not re-run the command."""
    emails = [f"cli{i}@example.org" for i in range(12)]
    populate_send(engine, emails)
    env = smtp_env(db_url, smtp_sink.port, tmp_path, build_processes=2, claim_batch=5)
    done = run_send(env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert smtp_sink.handler.counts() == {e: 1 for e in emails}
    assert set(states(engine).values()) == {"sent"}


def _comparable(data: bytes) -> tuple[list[tuple[str, str]], str, str]:
    """Headers but Date/Message-ID and the bodies, every signed token blanked (a worker
    signs at its own second, so its tokens differ from ours only in time and signature)."""
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    heads = [(k, _TOKEN.sub("T", str(v))) for k, v in msg.items()
             if k not in ("Date", "Message-ID")]
    text, html = (part.get_content() for part in msg.iter_parts())
    return heads, _TOKEN.sub("T", text), _TOKEN.sub("T", html)


def test_worker_built_messages_equal_in_process_ones(tmp_path: Path) -> None:
    rt = Runtime(load_settings(database_url=f"sqlite:///{tmp_path}/ref.db", secret_key=SECRET,
                               from_address="digest@example.org", outbox_dir=tmp_path / "o"))
    try:
        populate(rt.engine)
        jobs = read_jobs(rt.engine, claims.peek_due(rt.engine, now=NOW))
        maker = rt.delivery.maker
        pool = BuildPool(MakerRecipe.of(maker, rt.settings.smtp), 2, maker)
        try:
            remote = list(pool.build(jobs, NOW))
        finally:
            pool.close()
        assert len(remote) == len(jobs) == 8
        for job, out in zip(jobs, remote, strict=True):
            assert not isinstance(out, Exception), out
            assert out.message is None and out.data is not None  # bytes only cross over
            here = maker.make(job, NOW)
            assert here.data is not None
            assert (out.sender, out.recipient, out.message_id) == (
                here.sender, here.recipient, here.message_id)
            assert _comparable(out.data) == _comparable(here.data)
    finally:
        rt.close()


def test_auto_builds_in_process_for_small_runs() -> None:
    assert processes_for(-1, 999, cores=8) == 0
    assert processes_for(-1, 1000, cores=8) == 7
    assert processes_for(-1, 100_000, cores=64) == 8
    assert processes_for(-1, 5000, cores=1) == 0
    assert processes_for(0, 100_000, cores=8) == 0
    assert processes_for(3, 1, cores=1) == 3


def test_a_broken_pool_costs_speed_not_messages(tmp_path: Path) -> None:
    """Workers that cannot start (here: a DKIM key file only they would read, missing) break
    the pool; the batch is then built in this process, every message as the reference."""
    from dataclasses import replace

    from digest.config import SmtpSettings
    from tests.build_reference import REFERENCE, frozen_time, strip_volatile

    rt = Runtime(load_settings(database_url=f"sqlite:///{tmp_path}/ref.db", secret_key=SECRET,
                               from_address="digest@example.org", outbox_dir=tmp_path / "o"))
    try:
        populate(rt.engine)
        due = claims.peek_due(rt.engine, now=NOW)
        jobs = read_jobs(rt.engine, due)
        maker = rt.delivery.maker
        broken = replace(MakerRecipe.of(maker, rt.settings.smtp), smtp=SmtpSettings(
            dkim_key_path=tmp_path / "missing.pem", dkim_selector="sel"))
        pool = BuildPool(broken, 1, maker)
        try:
            with frozen_time():
                built = list(pool.build(jobs, NOW))
        finally:
            pool.close()
        assert len(built) == 8
        for claim, out in zip(due, built, strict=True):
            assert not isinstance(out, Exception), out
            assert out.data is not None
            ref = (REFERENCE / f"{claim.subscriber_id:02d}.eml").read_bytes()
            assert strip_volatile(out.data) == strip_volatile(ref)
    finally:
        rt.close()
