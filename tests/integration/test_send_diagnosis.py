"""Configuration mistakes are named: each way a session cannot be opened stops the run in
one line that names the setting to change (a SendMisconfigured: exit 2), spends no reader's
attempt, and loses nothing."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from digest.errors import SendMisconfigured
from digest.store.schema import deliveries
from tests.raw_smtp import EHLO_PLAIN, RawMta
from tests.send_world import populate, runtime


def _stopped(engine: Engine, tmp: Path, port: int, **smtp: Any) -> str:
    populate(engine, [f"r{i}@example.net" for i in range(6)])
    rt = runtime(str(engine.url), port, tmp, pool_size=2, **smtp)
    try:
        with pytest.raises(SendMisconfigured) as stop:
            rt.delivery.deliver()
    finally:
        rt.close()
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.state, deliveries.c.attempts)).all()
    assert {state for state, _ in rows} <= {"retry", "pending"}
    assert {attempts for _, attempts in rows} == {0}
    line = str(stop.value)
    assert "\n" not in line
    return line


def test_tls_against_a_plain_port(sqlite_engine: Engine, tmp_path: Path) -> None:
    with RawMta() as mta:
        line = _stopped(sqlite_engine, tmp_path, mta.port, security="tls")
    assert "plain SMTP" in line and "DIGEST_SMTP__SECURITY=starttls" in line
    assert "DIGEST_SMTP__PORT" in line


def test_no_greeting_on_a_plain_setting_means_an_implicit_tls_port(sqlite_engine: Engine,
                                                                  tmp_path: Path) -> None:
    with RawMta(replies={"greeting": b""}) as mta:  # silent, like port 465 to plain text
        line = _stopped(sqlite_engine, tmp_path, mta.port, security="none", connect_timeout=1)
    assert "no SMTP greeting within 1 s" in line and "DIGEST_SMTP__SECURITY=tls" in line


def test_starttls_against_a_server_without_it(sqlite_engine: Engine, tmp_path: Path) -> None:
    with RawMta(replies={"ehlo": EHLO_PLAIN}) as mta:  # no STARTTLS offered
        line = _stopped(sqlite_engine, tmp_path, mta.port, security="starttls")
    assert "does not offer STARTTLS" in line and "DIGEST_SMTP__SECURITY" in line


def test_a_refused_connection(sqlite_engine: Engine, tmp_path: Path) -> None:
    from tests.smtp_sink import free_port

    line = _stopped(sqlite_engine, tmp_path, free_port())
    assert "connection refused" in line and "DIGEST_SMTP__HOST and DIGEST_SMTP__PORT" in line


def test_a_host_name_that_does_not_resolve(sqlite_engine: Engine, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # No DNS in tests: the resolver answers this one name the way glibc does for a name
    # that does not exist (EAI_NONAME); every other name resolves as usual.
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "smtp.nonexistent.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    line = _stopped(sqlite_engine, tmp_path, 25, host="smtp.nonexistent.invalid")
    assert "cannot resolve the SMTP host 'smtp.nonexistent.invalid'" in line
    assert "DIGEST_SMTP__HOST" in line


def test_a_busy_greeting_is_a_hiccup_not_a_configuration_error(sqlite_engine: Engine,
                                                              tmp_path: Path) -> None:
    # Gmail documents "421 4.7.0 Try again later, closing connection" at the greeting.
    busy = b"421 4.7.0 Try again later, closing connection. (EHLO) - gsmtp\r\n"
    populate(sqlite_engine, ["r0@example.net", "r1@example.net"])
    with RawMta(replies={"greeting": busy}) as mta:
        rt = runtime(str(sqlite_engine.url), mta.port, tmp_path, pool_size=1,
                     retry_window_seconds=0)
        try:
            report = rt.delivery.deliver()  # no SendMisconfigured: it retries later
        finally:
            rt.close()
    assert report.sent == 0 and report.waiting == 2
    assert "421" in report.errors[0] and "temporary: retrying later" in report.errors[0]
    with sqlite_engine.connect() as conn:
        assert {s for (s,) in conn.execute(select(deliveries.c.state))} == {"retry"}
