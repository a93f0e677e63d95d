"""STARTTLS, implicit TLS and AUTH against a real aiosmtpd with a throwaway certificate."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine

from digest.errors import SendAborted, SendMisconfigured
from tests.send_world import populate, runtime
from tests.smtp_sink import ScriptedHandler, SmtpSink


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem")], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(d / "cert.pem", d / "key.pem")
    return context


class Accounts:
    def __init__(self) -> None:
        self.logins: list[tuple[str, bool]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"digest", b"s3cret")
        self.logins.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies 535


@pytest.fixture
def starttls_sink(server_tls: ssl.SSLContext) -> Iterator[tuple[SmtpSink, Accounts]]:
    accounts = Accounts()
    with SmtpSink(ScriptedHandler(), tls_context=server_tls, require_starttls=True,
                  authenticator=accounts, auth_required=True, auth_require_tls=True) as sink:
        yield sink, accounts


def test_starttls_with_auth(sqlite_engine: Engine, tmp_path: Path,
                            starttls_sink: tuple[SmtpSink, Accounts]) -> None:
    sink, accounts = starttls_sink
    populate(sqlite_engine, ["tls@example.org", "tls2@example.org"])
    rt = runtime(str(sqlite_engine.url), sink.port, tmp_path, security="starttls",
                 username="digest", password="s3cret", validate_certs=False)
    try:
        assert rt.delivery.deliver().sent == 2
    finally:
        rt.close()
    assert sink.handler.counts() == {"tls@example.org": 1, "tls2@example.org": 1}
    assert accounts.logins and all(ok for _, ok in accounts.logins)


def test_wrong_password_stops_the_run_naming_the_settings(
        sqlite_engine: Engine, tmp_path: Path, starttls_sink: tuple[SmtpSink, Accounts]) -> None:
    sink, _ = starttls_sink
    populate(sqlite_engine, [f"p{i}@example.org" for i in range(4)])
    rt = runtime(str(sqlite_engine.url), sink.port, tmp_path, security="starttls",
                 username="digest", password="wrong", validate_certs=False,
                 abort_after_consecutive_failures=2, pool_size=1)
    try:
        with pytest.raises(SendMisconfigured,
                           match=r"535 .*DIGEST_SMTP__USERNAME and DIGEST_SMTP__PASSWORD"):
            rt.delivery.deliver()
    finally:
        rt.close()
    assert sink.handler.counts() == {}


def test_plain_connection_is_refused_when_the_server_requires_starttls(
        sqlite_engine: Engine, tmp_path: Path, starttls_sink: tuple[SmtpSink, Accounts]) -> None:
    sink, _ = starttls_sink
    populate(sqlite_engine, ["plain@example.org"])
    rt = runtime(str(sqlite_engine.url), sink.port, tmp_path, security="none",
                 abort_after_consecutive_failures=1)
    try:
        with pytest.raises(SendAborted):
            rt.delivery.deliver()
    finally:
        rt.close()
    assert sink.handler.counts() == {}


def test_implicit_tls(sqlite_engine: Engine, tmp_path: Path, server_tls: ssl.SSLContext) -> None:
    populate(sqlite_engine, ["implicit@example.org"])
    with SmtpSink(ScriptedHandler(), ssl_context=server_tls) as sink:
        rt = runtime(str(sqlite_engine.url), sink.port, tmp_path, security="tls",
                     validate_certs=False)
        try:
            assert rt.delivery.deliver().sent == 1
        finally:
            rt.close()
        assert sink.handler.counts() == {"implicit@example.org": 1}


def test_an_untrusted_certificate_is_named(sqlite_engine: Engine, tmp_path: Path,
                                           server_tls: ssl.SSLContext) -> None:
    populate(sqlite_engine, ["cert@example.org", "cert2@example.org"])
    with SmtpSink(ScriptedHandler(), ssl_context=server_tls) as sink:
        rt = runtime(str(sqlite_engine.url), sink.port, tmp_path, security="tls",
                     validate_certs=True, pool_size=1)  # a self-signed certificate
        try:
            with pytest.raises(SendMisconfigured, match=r"certificate .*not trusted.*"
                                                        r"DIGEST_SMTP__VALIDATE_CERTS=false"):
                rt.delivery.deliver()
        finally:
            rt.close()
        assert sink.handler.counts() == {}
