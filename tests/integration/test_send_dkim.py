"""DKIM: digest signs what it sends; dkimpy verifies the message as the sink received it."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from digest.config import SmtpSettings
from digest.errors import ConfigError
from digest.send.dkim import SIGNED_HEADERS, signer_from_settings
from tests.send_world import populate, runtime
from tests.smtp_sink import SmtpSink

dkim = pytest.importorskip("dkim", reason="the dkim extra (dkimpy) is not installed")


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A fresh 2048-bit key (PEM path) and its DNS TXT record."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to generate a test key")
    directory = tmp_path_factory.mktemp("dkim")
    key = directory / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def _dns(record: bytes, name: str) -> object:
    def lookup(query: bytes, timeout: int = 5) -> bytes | None:
        return record if query == name.encode() else None

    return lookup


def test_sent_messages_carry_a_valid_signature_over_the_bulk_headers(
        sqlite_engine: object, tmp_path: Path, smtp_sink: SmtpSink,
        rsa_key: tuple[Path, bytes]) -> None:
    key, record = rsa_key
    url = str(sqlite_engine.url)  # type: ignore[attr-defined]
    populate(sqlite_engine, ["signed@example.org"])  # type: ignore[arg-type]
    rt = runtime(url, smtp_sink.port, tmp_path, dkim_key_path=key, dkim_selector="d2026")
    try:
        assert rt.delivery.deliver().sent == 1
    finally:
        rt.close()
    data = smtp_sink.handler.to("signed@example.org")[0].data
    dnsfunc = _dns(record, "d2026._domainkey.example.org.")
    assert dkim.verify(data, dnsfunc=dnsfunc)

    signature = data.split(b"DKIM-Signature:", 1)[1].split(b"\r\n\r\n", 1)[0]
    tags = dict(t.strip().split(b"=", 1) for t in b"".join(signature.split()).split(b";") if t)
    signed = {h.lower() for h in tags[b"h"].split(b":")}
    assert {h.lower() for h in SIGNED_HEADERS} <= signed
    assert tags[b"d"] == b"example.org" and tags[b"s"] == b"d2026"

    # Replacing the unsubscribe target in transit must break the signature.
    start = data.index(b"<", data.index(b"List-Unsubscribe:")) + 1
    forged = data[:start] + b"https://evil.example/x" + data[data.index(b">", start):]
    assert not dkim.verify(forged, dnsfunc=dnsfunc)


def test_misconfigured_dkim_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DKIM_SELECTOR"):
        signer_from_settings(SmtpSettings(dkim_key_path=tmp_path / "k.pem"),
                             from_address="d@example.org")
    with pytest.raises(ConfigError, match="DKIM_KEY_PATH: cannot read"):
        signer_from_settings(SmtpSettings(dkim_key_path=tmp_path / "k.pem", dkim_selector="s"),
                             from_address="d@example.org")
    assert signer_from_settings(SmtpSettings(), from_address="d@example.org") is None
