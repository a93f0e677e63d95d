"""Test support for the send stage: a store with papers, subscribers and planned deliveries.

Built through the store's own functions (what ``plan`` would write), so tests reach the
send loop in milliseconds instead of fetching and ranking.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from digest.config import Settings, load_settings
from digest.editions import edition_for
from digest.models import Paper, SubscriberInput
from digest.runtime import Runtime
from digest.store import ledger
from digest.store.papers import upsert_papers
from digest.store.schema import deliveries
from digest.store.subscribers import get_subscriber, upsert_subscriber

REPO = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key-for-send-tests-0123456789"


def papers(n: int = 3) -> list[Paper]:
    now = datetime.now(UTC)
    return [Paper(id=f"2411.{10000 + i}", title=f"Paper {i} on state space models",
                  abstract="We study long sequences. " * 20, authors=("A. Author",),
                  url=f"https://arxiv.org/abs/2411.{10000 + i}", categories=("cs.LG",),
                  published=now - timedelta(days=1), sources=("test",)) for i in range(n)]


def populate(engine: Engine, emails: list[str], *, now: datetime | None = None) -> dict[str, int]:
    """Active subscribers with one pending delivery each for the current edition."""
    now = now or datetime.now(UTC)
    stored = papers()
    upsert_papers(engine, stored, now=now)
    picks = [{"id": p.id, "score": 0.9 - i / 10, "reasons": ["matches your interests"]}
             for i, p in enumerate(stored)]
    ids: dict[str, int] = {}
    for email in emails:
        sid, _ = upsert_subscriber(engine, SubscriberInput(email=email, interests="ssm"),
                                   now=now, status="active", origin="cli")
        sub = get_subscriber(engine, subscriber_id=sid)
        assert sub is not None
        edition_id = ledger.ensure_edition(engine, edition_for(sub, now), now=now)
        ledger.add_delivery(engine, edition_id=edition_id, subscriber_id=sid, picks=picks,
                            quiet=False, now=now)
        ids[email] = sid
    return ids


def smtp_env(db_url: str, port: int, tmp: Path, **smtp: Any) -> dict[str, str]:
    """Environment for a ``digest`` subprocess delivering to the sink on ``port``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(DIGEST_DATABASE_URL=db_url, DIGEST_SMTP__HOST="127.0.0.1",
               DIGEST_SMTP__PORT=str(port), DIGEST_SECRET_KEY=SECRET,
               DIGEST_FROM_ADDRESS="digest@example.org", DIGEST_OUTBOX_DIR=str(tmp / "outbox"),
               DIGEST_SUBSCRIBERS_DIR=str(tmp / "no-subscribers"), DIGEST_FEEDS=str(tmp / "none"))
    env.update({f"DIGEST_SMTP__{k.upper()}": str(v) for k, v in smtp.items()})
    return env


def runtime(db_url: str, port: int | None, tmp: Path, **smtp: Any) -> Runtime:
    settings: Settings = load_settings(
        database_url=db_url, secret_key=SECRET, from_address="digest@example.org",
        outbox_dir=tmp / "outbox",
        smtp={"host": "127.0.0.1" if port else None, "port": port or 25, **smtp})
    return Runtime(settings)


def run_send(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digest.cli", "send", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def start_send(env: dict[str, str], *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "digest.cli", "send", *args], env=env,
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def states(engine: Engine) -> dict[int, str]:
    """Delivery state per subscriber id."""
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.subscriber_id, deliveries.c.state)).all()
    return {sid: state for sid, state in rows}


def lease_owners(engine: Engine, state: str) -> set[str]:
    """The workers holding (or, for sent rows, last holding) rows in ``state``."""
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.lease_owner).where(deliveries.c.state == state))
        return {owner for (owner,) in rows if owner}
