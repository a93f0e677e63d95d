"""The ``digest subscribers`` admin commands and ``digest serve``'s secret check."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digest.addresses import address_hash
from digest.cli import app
from digest.config import load_settings
from digest.runtime import Runtime
from digest.store.subscribers import get_subscriber, is_suppressed, set_status
from tests.web_support import SECRET

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGEST_DATABASE_URL", f"sqlite:///{tmp_path / 'digest.db'}")
    monkeypatch.setenv("DIGEST_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("DIGEST_SECRET_KEY", SECRET)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def runtime() -> Runtime:
    return Runtime(load_settings())


def listed() -> dict[str, str]:
    code, out, _ = run("subscribers", "list", "--json")
    assert code == 0
    return {row["email"]: row["status"] for row in json.loads(out)}


def test_add_pending_sends_a_confirmation_and_confirmed_does_not(env: Path) -> None:
    code, out, _ = run("subscribers", "add", "new@example.org", "--interests", "graphs")
    assert code == 0 and "pending" in out
    [mail] = (env / "outbox").glob("*.eml")
    assert "/confirm/" in mail.read_text()
    code, out, _ = run("subscribers", "add", "boss@example.org", "--interests", "x", "--confirmed")
    assert code == 0
    assert len(list((env / "outbox").glob("*.eml"))) == 1
    assert listed() == {"new@example.org": "pending", "boss@example.org": "active"}
    code, _, err = run("subscribers", "add", "not-an-address", "--interests", "x")
    assert code == 2 and "email" in err


def test_list_json_shows_every_status(env: Path) -> None:
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        run("subscribers", "add", email, "--interests", "x", "--confirmed")
    run("subscribers", "add", "d@example.org", "--interests", "x")
    rt = runtime()
    set_status(rt.engine, get_subscriber(rt.engine, email="b@example.org").id, "unsubscribed",
               now=__import__("datetime").datetime.now(__import__("datetime").UTC))
    set_status(rt.engine, get_subscriber(rt.engine, email="c@example.org").id, "bounced",
               now=__import__("datetime").datetime.now(__import__("datetime").UTC))
    rt.close()
    assert listed() == {"a@example.org": "active", "b@example.org": "unsubscribed",
                        "c@example.org": "bounced", "d@example.org": "pending"}


CSV = """email,interests,frequency,timezone
good1@example.org,graph neural networks,weekly,Europe/Paris
not an address,x,weekly,UTC
good2@example.org,"state space models, Mamba",daily,
empty@example.org,,weekly,UTC
freq@example.org,x,hourly,UTC
tz@example.org,x,weekly,Mars/Olympus
good1@example.org,again,weekly,UTC
extra@example.org,x,weekly,UTC,surplus
good3@example.org,x
"""


def test_import_keeps_good_rows_and_reports_each_bad_one(env: Path) -> None:
    (env / "list.csv").write_text(CSV)
    code, out, err = run("subscribers", "import", "list.csv")
    assert code == 1
    assert "3 created, 0 updated, 6 bad rows" in out
    bad = [line for line in err.splitlines() if line.startswith("list.csv:")]
    assert [line.split(":")[1] for line in bad] == ["3", "5", "6", "7", "8", "9"]
    assert "@-sign" in bad[0] and "interests" in bad[1] and "frequency" in bad[2]
    assert "time zone" in bad[3] and "line 2" in bad[4] and "more fields" in bad[5]
    assert listed() == {"good1@example.org": "active", "good2@example.org": "active",
                        "good3@example.org": "active"}
    rt = runtime()
    good2 = get_subscriber(rt.engine, email="good2@example.org")
    assert (good2.frequency, good2.timezone) == ("daily", "UTC")
    rt.close()


def test_import_refuses_a_file_without_the_header(env: Path) -> None:
    (env / "bad.csv").write_text("address,topic\na@example.org,x\n")
    code, _, err = run("subscribers", "import", "bad.csv")
    assert code == 2 and "header" in err
    assert run("subscribers", "import", "missing.csv")[0] == 2


def test_export_round_trips_through_import(env: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (env / "list.csv").write_text("email,interests,frequency,timezone\n"
                                  'a@example.org,"graphs, ""quoted"", commas",daily,Asia/Tokyo\n'
                                  "b@example.org,ssm,weekly,UTC\n")
    assert run("subscribers", "import", "list.csv")[0] == 0
    code, out, _ = run("subscribers", "export")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["email"], r["interests"], r["frequency"], r["timezone"], r["status"]) for r in rows] == [
        ("a@example.org", 'graphs, "quoted", commas', "daily", "Asia/Tokyo", "active"),
        ("b@example.org", "ssm", "weekly", "UTC", "active")]
    code, out_json, _ = run("subscribers", "export", "--format", "json")
    assert code == 0 and json.loads(out_json)[0]["timezone"] == "Asia/Tokyo"
    (env / "copy.csv").write_text(out)
    monkeypatch.setenv("DIGEST_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    code, out2, _ = run("subscribers", "import", "copy.csv")
    assert code == 0 and "2 created" in out2 and "ignored columns" not in out2


def test_remove_erases_and_blocks_every_way_back(env: Path) -> None:
    run("subscribers", "add", "gone@example.org", "--interests", "x", "--confirmed")
    code, out, _ = run("subscribers", "remove", "gone@Example.ORG")
    assert code == 0 and "removed gone@example.org" in out
    rt = runtime()
    assert get_subscriber(rt.engine, email="gone@example.org") is None
    assert is_suppressed(rt.engine, address_hash("gone@example.org"))
    rt.close()
    assert run("subscribers", "add", "gone@example.org", "--interests", "x", "--confirmed")[0] == 1
    assert run("subscribers", "add", "gone@example.org", "--interests", "x")[0] == 1
    (env / "p").mkdir()
    (env / "p" / "gone.toml").write_text('email = "gone@example.org"\ninterests = "x"\n')
    code, _, err = run("subscribers", "sync", "p")
    assert code == 1 and "cannot be added again" in err
    (env / "l.csv").write_text("email,interests\ngone@example.org,x\n")
    assert run("subscribers", "import", "l.csv")[0] == 1
    assert listed() == {}
    assert run("subscribers", "remove", "nobody@example.org")[0] == 1


def test_remove_allow_return_keeps_no_hash(env: Path) -> None:
    run("subscribers", "add", "back@example.org", "--interests", "x", "--confirmed")
    assert run("subscribers", "remove", "back@example.org", "--allow-return")[0] == 0
    assert run("subscribers", "add", "back@example.org", "--interests", "x", "--confirmed")[0] == 0


def test_sync_loads_profile_files(env: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    code, out, _ = run("subscribers", "sync", str(repo / "subscribers"))
    assert code == 0 and "created" in out
    assert set(listed().values()) == {"active"}


def test_serve_refuses_to_start_without_a_secret_in_production(tmp_path: Path) -> None:
    """A real process: exit 2 and one line naming the setting, before binding any port."""
    env = {"PATH": "/usr/bin:/bin", "DIGEST_MODE": "production",
           "DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"}
    done = subprocess.run([str(Path(sys.executable).parent / "digest"), "serve", "--port", "1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "DIGEST_SECRET_KEY" in done.stderr
    assert not (tmp_path / ".digest_secret").exists()


def _bounce(email: str) -> int:
    """Mark a subscriber bounced the way the send loop does: a counted hard bounce."""
    from datetime import UTC, datetime

    from digest.store import claims

    rt = runtime()
    try:
        sub = get_subscriber(rt.engine, email=email)
        assert sub is not None
        with rt.engine.begin() as conn:
            assert claims.count_hard_bounce(conn, sub.id, now=datetime.now(UTC), threshold=1)
        return sub.id
    finally:
        rt.close()


def test_unsuppress_lifts_a_bounce_and_says_what_it_did(env: Path) -> None:
    assert run("subscribers", "add", "lea@example.org", "--interests", "x", "--confirmed")[0] == 0
    _bounce("lea@example.org")
    assert listed() == {"lea@example.org": "bounced"}
    # Adding again does not pretend: the subscriber stays bounced and the way out is named.
    code, out, err = run("subscribers", "add", "lea@example.org", "--interests", "x",
                         "--confirmed")
    assert "bounced" in out + err and "unsuppress" in out + err
    assert "active)" not in out
    assert listed() == {"lea@example.org": "bounced"}

    code, out, _ = run("subscribers", "unsuppress", "Lea@EXAMPLE.org")
    assert code == 0, out
    assert "hard bounce" in out and "active" in out and "lea@example.org" in out
    assert listed() == {"lea@example.org": "active"}
    rt = runtime()
    try:
        assert not is_suppressed(rt.engine, address_hash("lea@example.org"))
    finally:
        rt.close()

    code, out, err = run("subscribers", "unsuppress", "lea@example.org")
    assert code == 1 and "not suppressed" in out + err  # nothing left to lift: said so


def test_unsuppress_lets_a_removed_address_be_added_again(env: Path) -> None:
    assert run("subscribers", "add", "gone@example.org", "--interests", "x", "--confirmed")[0] == 0
    assert run("subscribers", "remove", "gone@example.org")[0] == 0
    code, _, err = run("subscribers", "add", "gone@example.org", "--interests", "x", "--confirmed")
    assert code == 1 and "unsuppress" in err
    code, out, _ = run("subscribers", "unsuppress", "gone@example.org")
    assert code == 0 and "removed" in out and "no subscriber" in out
    assert run("subscribers", "add", "gone@example.org", "--interests", "x", "--confirmed")[0] == 0
    assert listed() == {"gone@example.org": "active"}


def test_unsuppress_refuses_a_bad_address(env: Path) -> None:
    code, _, err = run("subscribers", "unsuppress", "not an address")
    assert code == 2 and err.strip().count("\n") == 0
