"""Outbox files are named ``<edition>-<address>.eml`` (issue 18): a person can tell whose is
whose, and no address can make a path, a control character, an overlong or a shared name."""

from __future__ import annotations

import asyncio
from email.utils import make_msgid
from pathlib import Path

from digest.compose import make_message_id
from digest.send.transport import MAX_NAME, OutboxTransport, outbox_name

MID = make_message_id("weekly:2026-W49", 3, "localhost")


def test_the_name_is_the_edition_then_the_address() -> None:
    assert outbox_name(MID, "ada@example.org") == "weekly-2026-W49-ada@example.org.eml"
    daily = make_message_id("daily:2026-11-30", 4, "example.org")
    assert outbox_name(daily, "dana@example.org") == "daily-2026-11-30-dana@example.org.eml"
    assert outbox_name("<notice123@example.org>", "b@example.org") == "notice123-b@example.org.eml"


def test_other_mail_to_one_reader_never_shares_a_name() -> None:
    # Notices carry email.utils.make_msgid ids, three dot-separated parts like digest's own.
    ids = {make_msgid(domain="example.org") for _ in range(5)}
    names = {outbox_name(mid, "ann@example.org") for mid in ids}
    assert len(names) == 5 and all(n.endswith("-ann@example.org.eml") for n in names)


def test_an_address_is_encoded_never_a_path_or_control() -> None:
    assert outbox_name(MID, "josé@example.org") == "weekly-2026-W49-jos%C3%A9@example.org.eml"
    for hostile in ('"../../etc/passwd"@example.org', '"a\\b\r\n"@example.org', "a/b@x.org",
                    "\x00@x.org"):
        name = outbox_name(MID, hostile)
        assert "/" not in name and "\\" not in name
        assert not any(ord(c) < 32 or ord(c) == 127 for c in name), name
        assert name.isascii() and not name.startswith(".")


def test_long_names_are_bounded_and_stay_unique() -> None:
    one = outbox_name(MID, "a" * 64 + "@" + "b" * 240 + ".org")
    two = outbox_name(MID, "a" * 64 + "@" + "b" * 240 + ".net")
    assert len(one.encode()) <= MAX_NAME + len(".eml") and one != two


def test_the_outbox_writes_that_name(tmp_path: Path) -> None:
    asyncio.run(OutboxTransport(tmp_path).send(b"Subject: x\r\n\r\nbody\r\n",
                                               sender="digest@localhost",
                                               recipient="ada@example.org", message_id=MID))
    assert [p.name for p in tmp_path.iterdir()] == ["weekly-2026-W49-ada@example.org.eml"]
