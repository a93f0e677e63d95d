"""One mailbox, however its address is spelled: letter case and either IDNA form of the
domain. Every lookup of a subscriber by address goes through here."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, func, or_

from digest.addresses import spellings


def same_mailbox(column: ColumnElement[str], email: str) -> ColumnElement[bool]:
    """``column`` holds ``email`` in any letter case and either IDNA form of its domain: one
    mailbox. RFC 5321 (2.4) lets a server tell "Bob@" from "bob@"; no big provider does, and a
    case-sensitive lookup let 100 variants of one address each get a confirmation mail (an
    attacker's report). Served by the email and lower(email) indexes (migration 0016); the
    exact spellings are asked too, since SQLite's lower() folds ASCII letters only."""
    forms = spellings(email)
    return or_(column.in_(forms), func.lower(column).in_([form.lower() for form in forms]))


def exact_first(column: ColumnElement[str], email: str) -> ColumnElement[int]:
    """Ordering that puts the row spelled exactly as ``email`` first: a database from before
    0016 may hold two letter cases of one address, and each keeps finding its own row."""
    return case((column.in_(spellings(email)), 0), else_=1)
