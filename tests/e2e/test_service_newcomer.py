"""The newcomer's path through ``digest run``: subscribe on the page, confirm from the email,
and the first digest arrives on the service's own schedule (no manual send)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from digest.store.db import open_store
from digest.store.schema import deliveries
from tests.e2e.test_service_process import Node, nodes, service_env, wait_for  # noqa: F401
from tests.smtp_sink import SmtpSink, free_port

pytest.importorskip("digest.web", reason="the web app is not on this branch")


def test_subscribe_confirm_and_the_digest_arrives(tmp_path: Path, smtp_sink: SmtpSink,
                                                  nodes: list[Node]) -> None:  # noqa: F811
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    env = {**service_env(url, smtp_sink, tmp_path),
           "DIGEST_BASE_URL": base, "DIGEST_FROM_ADDRESS": "digest@example.org"}
    nodes.append(node := Node(tmp_path, env, "service", port=port))
    wait_for(node.healthy, "the web app")
    with httpx.Client(base_url=base, headers={"Origin": base}, timeout=10) as client:
        form = client.get("/").text
        token = re.search(r'name="form_token" value="([^"]+)"', form)
        assert token, form
        reply = client.post("/subscribe", data={
            "email": "newcomer@example.org", "frequency": "daily",
            "interests": "large language models and reasoning", "form_token": token.group(1)})
        assert reply.status_code == 200, reply.text
        wait_for(lambda: smtp_sink.handler.to("newcomer@example.org"), "the confirmation email")
        body = smtp_sink.handler.to("newcomer@example.org")[0].message.get_body(
            ("plain",)).get_content()  # type: ignore[union-attr]
        link = re.search(re.escape(base) + r"(/confirm/[^\s>\"]+)", body)
        assert link, body
        assert client.post(link.group(1)).status_code == 200

    def sent_ids() -> list[str]:
        engine = open_store(url)
        try:
            with engine.connect() as conn:
                return [r.message_id for r in conn.execute(
                    select(deliveries.c.message_id).where(deliveries.c.state == "sent"))]
        finally:
            engine.dispose()

    found: list[str] = wait_for(sent_ids, "the first digest from the schedule")  # type: ignore[assignment]
    [message_id] = found
    assert node.stop(timeout=20) == 0
    received = [str(r.message["Message-ID"]) for r in smtp_sink.handler.to("newcomer@example.org")]
    assert received.count(message_id) == 1
