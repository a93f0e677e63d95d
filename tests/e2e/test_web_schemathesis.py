"""schemathesis fuzzes every operation of the app's OpenAPI schema: never a 5xx.

Half of the generated cases get a genuine token in place of the random one (and a genuine
form token), so the form handlers behind valid links are fuzzed too, not only the 400s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from digest.profiles import validate_profile
from digest.store.subscribers import get_subscriber, upsert_subscriber
from digest.tokens import make_token
from digest.web import create_app
from digest.web.forms import form_token
from tests.web_support import SECRET, make_runtime


def test_no_server_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Driven through hypothesis directly: schemathesis' pytest plugin does not run on
    # pytest 9 (it reads a private node attribute), and this needs no plugin.
    rt = make_runtime(tmp_path, monkeypatch, DIGEST_WEB__IP_LIMIT="1000000")
    data = validate_profile({"email": "fuzz@example.org", "interests": "graphs"})
    sid, _ = upsert_subscriber(rt.engine, data, now=datetime.now(UTC), status="pending",
                               origin="cli")
    valid = {
        "confirm": make_token(SECRET, "confirm", sid, n=datetime.now(UTC).isoformat()),
        "unsubscribe": make_token(SECRET, "unsubscribe", sid),
        "preferences": make_token(SECRET, "preferences", sid),
        "feedback": make_token(SECRET, "feedback", sid, paper="2401.00001", signal="more"),
        "delete": make_token(SECRET, "delete", sid),
        "resubscribe": make_token(SECRET, "resubscribe", sid, at=datetime.now(UTC).isoformat()),
    }
    # The feed and view links name a second reader: the fuzzed delete erases the first one
    # (and a fuzzed POST /preferences/{token}/feed replaces the first one's feed key).
    reader = validate_profile({"email": "reader@example.org", "interests": "graphs"})
    rid, _ = upsert_subscriber(rt.engine, reader, now=datetime.now(UTC), status="active",
                               origin="cli")
    other = get_subscriber(rt.engine, subscriber_id=rid)
    assert other is not None
    valid["view"] = make_token(SECRET, "view", rid, e="weekly:2026-W48")  # never sent: 404
    valid["feed"] = rt.reader.feed_url(other, now=datetime.now(UTC)).rsplit("/", 1)[1]

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(rt))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    seen: set[str] = set()

    for operation in operations:
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            token = (case.path_parameters or {}).get("token")
            if isinstance(token, str) and len(token) % 2 == 0:
                case.path_parameters["token"] = valid[case.path.strip("/").split("/")[0]]
            if isinstance(case.body, dict) and "form_token" in case.body and len(case.body) % 2:
                case.body["form_token"] = form_token(SECRET)
            response = case.call()
            seen.add(f"{case.method} {case.path} {response.status_code}")
            assert response.status_code < 500, (case.method, case.path, case.body,
                                                response.text[:300])
            if response.status_code >= 400:
                assert "<h1>" in response.text  # a page, not a traceback or JSON

        call()
    # The substitution worked: handlers behind valid links were reached, not only refused.
    for reached in ("POST /confirm/{token} 200", "POST /unsubscribe/{token} 200",
                    "POST /feedback/{token} 200", "POST /preferences/{token}/export 200",
                    "POST /delete/{token} 200", "GET /preferences/{token} 200",
                    "GET /feed/{token} 200", "POST /preferences/{token}/check 200"):
        assert reached in seen, sorted(seen)
    rt.close()
