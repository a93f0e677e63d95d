"""The inbound use case over a real store (SQLite and PostgreSQL): the same failure reported
twice counts once, a complaint is matched by the enclosed digest's signed unsubscribe token
when its Return-Path is gone, and nothing is matched without DIGEST_BOUNCE_ADDRESS."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from digest.config import load_settings
from digest.runtime import Runtime
from digest.store.schema import subscribers
from tests.inbound_world import fill, seen, send_digests, settings_for
from tests.smtp_sink import SmtpSink


def handle(rt: Runtime, raw: bytes) -> str:
    done = asyncio.run(rt.inbound.handle(raw, now=datetime.now(UTC)))
    return done.kind


def test_the_same_failure_reported_twice_counts_once(db_url: str, smtp_sink: SmtpSink,
                                                     tmp_path: Path) -> None:
    rt = send_digests(db_url, smtp_sink, tmp_path)
    try:
        # With a threshold of two, one bounce reported twice (a relay that resends its
        # DSN) must not suppress the reader.
        strict = Runtime(load_settings(**{**settings_for(db_url, smtp_sink, tmp_path),  # type: ignore[arg-type]
                                          "smtp": {"host": smtp_sink.host,
                                                   "port": smtp_sink.port,
                                                   "hard_bounce_threshold": 2}}))
        raw = fill("postfix_hard_5.1.1.eml", smtp_sink, "hard@example.net")
        assert handle(strict, raw) == "bounce"
        assert handle(strict, raw) == "bounce"
        with strict.engine.connect() as conn:
            bounces = conn.execute(select(subscribers.c.hard_bounces).where(
                subscribers.c.email == "hard@example.net")).scalar()
        assert bounces == 1
        assert seen(strict.engine, "hard@example.net").status == "active"
        strict.close()
    finally:
        rt.close()


def test_a_complaint_without_our_return_path_is_matched_by_its_unsubscribe_token(
        db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    rt = send_digests(db_url, smtp_sink, tmp_path)
    try:
        raw = fill("arf_abuse.eml", smtp_sink, "spam@example.net").decode()
        raw = re.sub(r"(?m)^Return-Path: .*\n", "", raw)  # the provider stripped it
        raw = re.sub(r"(?m)^Original-Mail-From: .*\n", "", raw)
        assert "bounces+" not in raw
        assert handle(rt, raw.encode()) == "complaint"
        got = seen(rt.engine, "spam@example.net")
        assert (got.status, got.suppressed) == ("unsubscribed", True)
        # A tampered token names nobody.
        other = fill("arf_abuse.eml", smtp_sink, "calm@example.net").decode()
        other = re.sub(r"(?m)^Return-Path: .*\n", "", other)
        other = re.sub(r"(?m)^Original-Mail-From: .*\n", "", other)
        token = re.search(r"unsubscribe%20([A-Za-z0-9_.-]+)>", other).group(1)  # type: ignore[union-attr]
        forged = token[:-1] + ("A" if token[-1] != "A" else "B")
        other = other.replace(token, forged)
        assert handle(rt, other.encode()) == "ignored"
        assert seen(rt.engine, "calm@example.net").status == "active"
    finally:
        rt.close()


def test_without_a_bounce_address_nothing_is_matched(db_url: str, smtp_sink: SmtpSink,
                                                     tmp_path: Path) -> None:
    rt = send_digests(db_url, smtp_sink, tmp_path)
    plain = Runtime(load_settings(**{**settings_for(db_url, smtp_sink, tmp_path),  # type: ignore[arg-type]
                                     "bounce_address": None}))
    try:
        raw = fill("postfix_hard_5.1.1.eml", smtp_sink, "hard@example.net")
        assert handle(plain, raw) == "ignored"
        assert seen(rt.engine, "hard@example.net").status == "active"
        assert handle(rt, b"Subject: subscribe\n\n" + b"x" * (6 * 2**20)) == "ignored"
    finally:
        plain.close()
        rt.close()
