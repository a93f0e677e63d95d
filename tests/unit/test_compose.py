"""Compose: headers, encodings, structure, header injection, and the fast wire form."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from digest.compose import compose_message, make_message_id
from digest.errors import AddressError, RenderError
from digest.render import RenderedEmail

EXPECTED_HEADERS = [
    "From", "To", "Subject", "Date", "Message-ID", "List-Id",
    "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
]
RENDERED = RenderedEmail(
    subject="Paper Digest: 10 papers for 23\u201329 Nov 2026",
    html="<!doctype html><html><body><p>Hello — world</p></body></html>\n",
    text="Hello — world\n" + "a long line " * 20 + "\n",
    preheader="Top pick",
)


def compose(rendered: RenderedEmail = RENDERED, **kw: object) -> EmailMessage:
    args: dict[str, object] = {
        "to_addr": "reader@example.org",
        "to_name": "Ada Lovelace",
        "from_addr": "digest@example.org",
        "from_name": "Paper Digest",
        "message_id": make_message_id("weekly:2026-W48", 7, "example.org"),
        "date": datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        "list_id": "Paper Digest <weekly.digest.example.org>",
        "unsubscribe_url": "https://digest.example.org/u/tok",
        "unsubscribe_mailto": "mailto:unsubscribe@example.org?subject=tok",
    }
    args.update(kw)
    return compose_message(rendered, **args)  # type: ignore[arg-type]


def parse(msg: EmailMessage) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_headers_and_structure() -> None:
    parsed = parse(compose())
    assert parsed.keys() == EXPECTED_HEADERS
    assert str(parsed["From"]) == "Paper Digest <digest@example.org>"
    assert str(parsed["To"]) == "Ada Lovelace <reader@example.org>"
    assert str(parsed["Subject"]) == RENDERED.subject
    assert parsed["Date"].datetime == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert str(parsed["List-Id"]) == "Paper Digest <weekly.digest.example.org>"
    assert str(parsed["List-Unsubscribe"]) == (
        "<https://digest.example.org/u/tok>, <mailto:unsubscribe@example.org?subject=tok>"
    )
    assert str(parsed["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]  # text first
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[0].get_content().replace("\r\n", "\n") == RENDERED.text
    assert parts[1].get_content().replace("\r\n", "\n") == RENDERED.html
    assert not parsed.defects and not any(p.defects for p in parts)


def test_wire_lines_are_ascii_crlf_and_short() -> None:
    raw = compose(to_name="Zoë Ünïcode " * 6).as_bytes()
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_non_ascii_names_and_subject_use_rfc2047() -> None:
    msg = compose(
        RenderedEmail("Über 10 papers — für dich", "<p>x</p>", "x", "p"),
        to_name="Zoë Ünïcode",
        from_name="Paper Digest — Ünï",
    )
    raw = msg.as_bytes()
    assert b"=?utf-8?b?" in raw and "Zoë".encode() not in raw
    parsed = parse(msg)
    assert str(parsed["Subject"]) == "Über 10 papers — für dich"
    assert parsed["To"].addresses[0].display_name == "Zoë Ünïcode"
    assert parsed["From"].addresses[0].display_name == "Paper Digest — Ünï"


def test_ascii_names_with_specials_are_quoted() -> None:
    parsed = parse(compose(to_name='O\'Brien, "Q" <x@y>'))
    assert parsed["To"].addresses[0].display_name == 'O\'Brien, "Q" <x@y>'
    assert parsed["To"].addresses[0].addr_spec == "reader@example.org"
    assert len(parsed["To"].addresses) == 1


@pytest.mark.parametrize("evil", ["\r\nBcc: victim@example.org", "\nX-Injected: 1", "\x00\r\n\r\n<html>"])
def test_crlf_and_nul_never_make_a_header(evil: str) -> None:
    msg = compose(
        RenderedEmail("Subject" + evil, "<p>x</p>", "x", "p"), to_name="Ada" + evil, from_name="D" + evil
    )
    parsed = parse(msg)
    assert parsed.keys() == EXPECTED_HEADERS
    assert "victim" not in (parsed.get("Bcc") or "")
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["To"])
    assert len(parsed["To"].addresses) == 1


def test_message_id_is_deterministic_per_edition_and_subscriber() -> None:
    a = make_message_id("weekly:2026-W48", 7, "example.org")
    assert a == make_message_id("weekly:2026-W48", 7, "example.org")
    assert a != make_message_id("weekly:2026-W48", 8, "example.org")
    assert a != make_message_id("weekly:2026-W49", 7, "example.org")
    assert a.startswith("<") and a.endswith("@example.org>") and ":" not in a
    assert str(parse(compose(message_id=a))["Message-ID"]) == a


def test_mailto_is_optional() -> None:
    parsed = parse(compose(unsubscribe_mailto=None))
    assert str(parsed["List-Unsubscribe"]) == "<https://digest.example.org/u/tok>"


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"to_addr": "evil@example.org\r\nBcc: x@y.org"}, AddressError),
        ({"to_addr": "no-at-sign"}, AddressError),
        ({"from_addr": "a b@example.org"}, AddressError),
        ({"to_addr": "josé@@example.org"}, AddressError),
        ({"to_addr": "josé@example.org\r\nBcc: x@y.org"}, AddressError),
        ({"to_addr": "José@Example.ORG"}, AddressError),  # never normalized: never checked
        ({"unsubscribe_url": "javascript:alert(1)"}, RenderError),
        ({"unsubscribe_mailto": "mailto:x@y.org\r\nBcc: z@q"}, RenderError),
        ({"message_id": "<no-domain>"}, RenderError),
        ({"date": datetime(2026, 11, 30, 8, 0)}, RenderError),
        ({"list_id": "Name <bad id>"}, RenderError),
    ],
)
def test_bad_inputs_are_refused(kw: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        compose(**kw)


def test_an_internationalized_address_goes_out_as_raw_utf8() -> None:
    # RFC 6532: the address itself cannot be RFC 2047-encoded; the message needs SMTPUTF8.
    from digest.send.transport import flatten, needs_smtputf8

    msg = compose(to_addr="josé@example.org", to_name="José Ünïcode")
    assert needs_smtputf8("digest@example.org", "josé@example.org")
    wire = flatten(msg, utf8=True)
    assert b"<jos\xc3\xa9@example.org>" in wire  # raw UTF-8, not an encoded-word
    assert wire == EmailMessage.as_bytes(msg)  # the fast form equals the generator here too
    back = email.message_from_string(wire.decode("utf-8"), policy=policy.default)
    assert back["To"].addresses[0].addr_spec == "josé@example.org"
    assert back["To"].addresses[0].display_name == "José Ünïcode"
    assert back["List-Unsubscribe"] == compose()["List-Unsubscribe"]
    assert flatten(compose(), utf8=False).isascii()  # plain readers still get 7-bit headers


def test_a_non_ascii_domain_goes_out_as_punycode_and_needs_no_smtputf8() -> None:
    # Field case 04: only a non-ASCII local part needs SMTPUTF8; the domain is written in
    # IDNA A-labels (RFC 5890), xn--bcher-kva being the A-label of "bücher" (RFC 3492's
    # own worked form of the IDNA test domain).
    from digest.send.transport import flatten, needs_smtputf8

    msg = compose(to_addr="lea@bücher.example", to_name="Lea",
                  from_addr="digest@bücher.example")
    assert not needs_smtputf8("digest@bücher.example", "lea@bücher.example")
    wire = flatten(msg, utf8=False)
    assert wire.isascii()
    assert b"To: Lea <lea@xn--bcher-kva.example>\r\n" in wire
    assert b"From: Paper Digest <digest@xn--bcher-kva.example>\r\n" in wire
    typed = compose(to_addr="lea@xn--bcher-kva.example")  # typed as punycode: kept as typed
    assert b"<lea@xn--bcher-kva.example>" in flatten(typed, utf8=False)
    both = compose(to_addr="josé@bücher.example", to_name="")
    assert needs_smtputf8("digest@example.org", "josé@bücher.example")
    assert "To: josé@xn--bcher-kva.example\r\n".encode() in flatten(both, utf8=True)


def test_make_message_id_refuses_a_bad_domain() -> None:
    with pytest.raises(AddressError):
        make_message_id("k", 1, "example.org>\r\nX: y")


def test_fast_wire_form_equals_the_stdlib_generator() -> None:
    for text in ("plain\n", "trailing no newline", "=_ soft\tbreaks " * 40 + "\n", "ü\r\nCRLF\rCR\n"):
        msg = compose(RenderedEmail("S ü", "<p>" + text + "</p>", text, "p"), to_name="Zoë")
        assert msg.as_bytes() == EmailMessage.as_bytes(msg)
        assert bytes(msg) == msg.as_bytes()


def test_changes_after_compose_take_the_stdlib_path() -> None:
    msg = compose()
    msg["X-Campaign"] = "w48"
    raw = msg.as_bytes()
    assert b"X-Campaign: w48\r\n" in raw
    assert raw == EmailMessage.as_bytes(msg)
    parts = list(msg.iter_parts())
    parts[0].set_payload("changed\n")
    assert b"changed" in msg.as_bytes()
    assert msg.as_bytes(policy=policy.SMTP) == EmailMessage.as_bytes(msg, policy=policy.SMTP)


def test_a_changed_part_alone_takes_the_stdlib_path() -> None:
    msg = compose()
    text_part = next(iter(msg.iter_parts()))
    text_part.set_payload("only the body changed\n")
    assert b"only the body changed" in msg.as_bytes()
    assert msg.as_bytes() == EmailMessage.as_bytes(msg)


def test_headers_read_back_as_parsed_objects() -> None:
    msg = compose(to_name="Zoë")
    assert msg["To"].addresses[0].display_name == "Zoë"
    assert msg.get_content_type() == "multipart/alternative"
    with pytest.raises(ValueError):
        msg["X-Other"] = "a\r\nB: c"  # anyone else's header still goes through validation


def test_transfer_encoding_is_7bit_only_when_safe() -> None:
    cases = {
        "<p>ascii &#8211; short lines</p>\n": "7bit",
        "<p>" + "x" * 2000 + "</p>": "quoted-printable",  # a line SMTP would refuse
        "<p>ünïcode</p>": "quoted-printable",
        "<p>nul\x00</p>": "quoted-printable",
    }
    for html, cte in cases.items():
        parsed = parse(compose(RenderedEmail("S", html, "t", "p")))
        part = list(parsed.iter_parts())[1]
        assert part["Content-Transfer-Encoding"] == cte
        assert part.get_content().replace("\r\n", "\n") == html


def test_unbreakable_tokens_survive_folding() -> None:
    # Found by the property test: a long quoted name without spaces was refolded by the
    # stdlib into a different address; a long signed URL must not become an encoded word.
    name = "<script>alert(1)</script>" * 4
    url = "https://digest.example.org/unsubscribe/" + "t" * 300
    parsed = parse(compose(to_name=name, unsubscribe_url=url, unsubscribe_mailto=None))
    assert parsed["To"].addresses[0].display_name == name
    assert parsed["To"].addresses[0].addr_spec == "reader@example.org"
    assert str(parsed["List-Unsubscribe"]) == f"<{url}>"


def test_the_sender_transmits_list_unsubscribe_as_plain_urls() -> None:
    # The bytes the SMTP transport sends (flatten), not just the parsed view: a parser
    # decodes RFC 2047 words back, mailbox providers do not in List-Unsubscribe, so an
    # encoded URL there silently breaks one-click unsubscribe.
    from digest.send.transport import flatten

    url = "https://digest.example.org/unsubscribe/" + "t" * 120
    msg = compose(unsubscribe_url=url)
    wire = flatten(msg)
    assert wire == msg.as_bytes()
    header = wire.split(b"\r\nList-Unsubscribe: ", 1)[1].split(b"\r\nList-Unsubscribe-Post", 1)[0]
    assert b"=?" not in header
    assert header.replace(b"\r\n ", b" ") == (
        f"<{url}>, <mailto:unsubscribe@example.org?subject=tok>".encode())


def test_a_body_that_contains_the_boundary_cannot_split_the_message() -> None:
    from digest.compose import BOUNDARY

    evil = f"hello\n--{BOUNDARY}\nContent-Type: text/html\n\n<script>x</script>\n--{BOUNDARY}--\n"
    parsed = parse(compose(RenderedEmail("S", "<p>ok</p>", evil, "p")))
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0]["Content-Transfer-Encoding"] == "quoted-printable"
    assert parts[0].get_content().replace("\r\n", "\n") == evil
