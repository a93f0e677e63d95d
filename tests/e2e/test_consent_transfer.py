"""Consent survives `digest subscribers export` → `import` (issue 14): every status with its
consent time, and the suppression list, exactly; an import keeps unsubscribed, pending and
bounced people as they are unless the operator says ``--activate``, and says per row what
it did. Through the real CLI (Typer's runner), on SQLite files."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digest.cli import app
from digest.config import load_settings
from digest.runtime import Runtime
from digest.store.consent import consent_records, suppression_list
from digest.store.subscribers import get_subscriber, set_status
from tests.web_support import SECRET

runner = CliRunner()
LATER = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def use(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    monkeypatch.setenv("DIGEST_DATABASE_URL", f"sqlite:///{db}")


def state() -> tuple[dict[str, tuple[str, object, object, object]], list[object]]:
    """(address → status, consent time, leaving time, suppression) and the suppression list."""
    rt = Runtime(load_settings())
    try:
        records = {r.email: (r.status, r.confirmed_at, r.unsubscribed_at, r.suppression)
                   for r in consent_records(rt.engine).values()}
        return records, suppression_list(rt.engine)
    finally:
        rt.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    use(monkeypatch, tmp_path / "first.db")
    monkeypatch.setenv("DIGEST_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("DIGEST_SECRET_KEY", SECRET)
    return tmp_path


def _populate() -> None:
    """One subscriber per status, a bounce with its suppression, a deleted address."""
    for email in ("active@example.org", "left@example.org", "bounced@example.org",
                  "gone@example.org"):
        assert run("subscribers", "add", email, "--interests", "graphs", "--confirmed")[0] == 0
    assert run("subscribers", "add", "pending@example.org", "--interests", "graphs")[0] == 0
    rt = Runtime(load_settings())
    try:
        left = get_subscriber(rt.engine, email="left@example.org")
        assert left is not None
        set_status(rt.engine, left.id, "unsubscribed", now=LATER)
        from digest.store import claims

        bounced = get_subscriber(rt.engine, email="bounced@example.org")
        assert bounced is not None
        with rt.engine.begin() as conn:
            assert claims.count_hard_bounce(conn, bounced.id, now=LATER, threshold=1)
    finally:
        rt.close()
    assert run("subscribers", "remove", "gone@example.org")[0] == 0


def test_export_then_import_round_trips_every_status_and_suppression(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _populate()
    before = state()
    statuses = {email: s[0] for email, s in before[0].items()}
    assert statuses == {"active@example.org": "active", "left@example.org": "unsubscribed",
                        "bounced@example.org": "bounced", "pending@example.org": "pending"}
    assert {s.reason for s in before[1]} == {"hard bounce", "removed"}

    code, out, err = run("subscribers", "export")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["email"]: r["status"] for r in rows if r["email"]} == statuses
    assert [r["suppression"] for r in rows if not r["email"]] == ["removed"]
    assert "gone@example.org" not in out  # a deleted address leaves its hash only
    (env / "list.csv").write_text(out)

    use(monkeypatch, env / "second.db")
    code, said, err = run("subscribers", "import", "list.csv")
    assert code == 0, said + err
    assert state() == before  # statuses, consent times and suppressions, exactly
    assert "left@example.org: created, unsubscribed" in said
    assert "pending@example.org: created, pending" in said
    assert "bounced@example.org: created, bounced; suppression (hard bounce) restored" in said
    assert "(removed) restored" in said

    # Again into the same store: nothing changes, and each row says so.
    code, again, _ = run("subscribers", "import", "list.csv")
    assert code == 0 and state() == before
    assert "left@example.org: updated, stays unsubscribed" in again
    assert "already on the list" in again


def test_import_keeps_withdrawn_people_unless_told_to_activate(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _populate()
    assert run("subscribers", "add", "later@example.org", "--interests", "x", "--confirmed")[0] == 0
    (env / "list.csv").write_text(
        "email,interests,status\n"
        "left@example.org,graphs,active\n"       # a stale list must not revive them
        "pending@example.org,graphs,\n"          # no status: stays as this store has it
        "later@example.org,x,unsubscribed\n"     # a withdrawal in the file is applied
        "bounced@example.org,graphs,active\n")
    code, said, err = run("subscribers", "import", "list.csv")
    assert code == 0, err
    statuses = {e: s[0] for e, s in state()[0].items()}
    assert statuses["left@example.org"] == "unsubscribed"
    assert statuses["later@example.org"] == "unsubscribed"
    assert statuses["bounced@example.org"] == "bounced"
    assert statuses["pending@example.org"] == "pending"
    assert "later@example.org: updated, now unsubscribed as the file says (was active)" in said
    assert "bounced@example.org: updated, stays bounced" in said and "unsuppress" in said

    code, said, _ = run("subscribers", "import", "list.csv", "--activate")
    statuses = {e: s[0] for e, s in state()[0].items()}
    assert statuses["left@example.org"] == "active"  # the operator said so, explicitly
    assert statuses["pending@example.org"] == "active"
    assert "left@example.org: updated, now active (was unsubscribed; --activate)" in said
    assert statuses["bounced@example.org"] == "bounced"  # only `unsuppress` lifts a bounce


def test_addresses_differing_in_case_are_one_subscriber_and_said_so(env: Path) -> None:
    assert run("subscribers", "add", "BOB@Example.ORG", "--interests", "x", "--confirmed")[0] == 0
    code, out, _ = run("subscribers", "add", "BOB@example.org", "--interests", "y",
                       "--confirmed")
    assert code == 0 and "updated" in out  # the domain is case-blind: the same subscriber
    # so is the local part: every provider delivers "bob@" and "BOB@" to one mailbox
    code, out, err = run("subscribers", "add", "bob@example.org", "--interests", "z",
                         "--confirmed")
    assert code == 0 and "updated" in out and "is the subscriber BOB@example.org" in err
    (env / "l.csv").write_text("email,interests\nBob@EXAMPLE.org,x\n")
    code, out, err = run("subscribers", "import", "l.csv")
    assert code == 0 and "is the subscriber BOB@example.org" in err
    code, out, _ = run("subscribers", "list", "--json")
    assert [s["email"] for s in json.loads(out)] == ["BOB@example.org"]
