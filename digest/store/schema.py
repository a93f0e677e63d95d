"""The database schema as SQLAlchemy Core tables (the Alembic migrations mirror it).
Portable across SQLite and PostgreSQL: JSON columns, timezone-aware timestamps stored as
UTC, integer surrogate keys where rows are many, natural keys where they are not."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would otherwise hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        when: datetime = value  # the DateTime impl has already turned the column into one
        if when.tzinfo is None:
            return when.replace(tzinfo=UTC)
        return when.astimezone(UTC)

def new_public_id() -> str:
    """A fresh subscriber public id: 16 random bytes, URL-safe base64 (22 characters)."""
    return secrets.token_urlsafe(16)


metadata = MetaData()

# Integer primary keys that autoincrement on both backends (BIGINT on PostgreSQL).
Id = BigInteger().with_variant(Integer(), "sqlite")

papers = Table(
    "papers",
    metadata,
    Column("id", String(300), primary_key=True),  # canonical id, see models.Paper
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False, default=""),
    Column("authors", JSON, nullable=False, default=list),
    Column("url", Text),
    Column("pdf_url", Text),
    Column("code_url", Text),
    Column("categories", JSON, nullable=False, default=list),
    Column("published", UTCDateTime()),
    Column("updated", UTCDateTime()),
    Column("sources", JSON, nullable=False, default=list),
    Column("summary", Text),
    Column("upvotes", Integer),
    Column("comments", Integer),
    Column("stars", Integer),
    Column("announce_type", String(40)),  # how arXiv announced it when digest first stored it
    Column("version", Integer),  # newest arXiv version seen (the 4 of 1905.07799v4)
    Column("content_hash", String(64), nullable=False),  # detects unchanged re-announcements
    Column("embedding", LargeBinary),  # float32 rows (text, then title), once per paper
    Column("embedding_model", String(64)),  # the encoder (and layout) that made it: store.embeddings
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Index("ix_papers_first_seen", "first_seen"),
)

feeds = Table(
    "feeds",
    metadata,
    Column("url", Text, primary_key=True),  # URL or path exactly as configured
    Column("name", String(200), nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_fetched_at", UTCDateTime()),
    Column("last_ok_at", UTCDateTime()),
    Column("last_status", String(40)),  # ok, not_modified, error
    Column("last_error", Text),
    Column("last_entries", Integer),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("body_hash", String(64)),  # sha256 of the last body parsed (skip if unchanged)
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # normalized address
    Column("name", String(200), nullable=False, default=""),
    Column("interests", Text, nullable=False, default=""),
    Column("keywords", JSON, nullable=False, default=list),
    Column("categories", JSON, nullable=False, default=list),
    Column("authors", JSON, nullable=False, default=list),
    Column("seed_papers", JSON, nullable=False, default=list),
    Column("popularity_weight", Float, nullable=False, default=1.0),
    Column("status", String(20), nullable=False, default="pending"),
    Column("frequency", String(10), nullable=False, default="weekly"),
    Column("weekday", Integer, nullable=False, default=0),
    Column("hour", Integer, nullable=False, default=8),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("papers_per_email", Integer, nullable=False, default=10),
    Column("quiet_week", String(10), nullable=False, default="send"),
    Column("origin", String(20), nullable=False, default="cli"),  # file, web, cli, import
    Column("created_at", UTCDateTime(), nullable=False),
    Column("confirmed_at", UTCDateTime()),
    Column("unsubscribed_at", UTCDateTime()),
    Column("last_confirmation_sent_at", UTCDateTime()),
    Column("hard_bounces", Integer, nullable=False, default=0),
    # Links name the subscriber by this random id, never reused (an integer id can be, on
    # SQLite); set on insert, backfilled by migration 0011_trust.
    Column("public_id", String(43), default=new_public_id),
    Index("ix_subscribers_status", "status"),
    Index("ux_subscribers_public_id", "public_id", unique=True),
)
Index(  # lookups in any letter case (store.mailbox); older databases may hold two cases
    "ix_subscribers_email_lower", func.lower(subscribers.c.email))

feedback = Table(
    "feedback",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subscriber_id", Id, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    Column("paper_id", String(300), nullable=False),
    Column("signal", Integer, nullable=False),  # +1 more like this, -1 less like this
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_feedback_subscriber", "subscriber_id"),
)

editions = Table(
    "editions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),  # weekly:2026-W48, daily:2026-11-29
    Column("frequency", String(10), nullable=False),
    Column("period_start", UTCDateTime(), nullable=False),
    Column("period_end", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# The ledger: exactly one row per (edition, subscriber). State machine:
# pending -> sending (leased) -> sent | retry (-> sending ...) | unknown | failed |
# suppressed | skipped; an "unknown" row with next_attempt_at set is tried once more then.
# Due rows never tried (or given back untouched), and rows waiting for a retry time.
NEW_WHERE = "state IN ('pending', 'retry') AND next_attempt_at IS NULL"
RETRY_WHERE = "state IN ('pending', 'retry', 'unknown') AND next_attempt_at IS NOT NULL"

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("edition_id", Id, ForeignKey("editions.id", ondelete="CASCADE"), nullable=False),
    Column("subscriber_id", Id, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False, default="pending"),
    Column("picks", JSON, nullable=False, default=list),  # [{id, score, reasons}], best first
    Column("quiet", Integer, nullable=False, default=0),
    Column("message_id", String(300)),
    Column("attempts", Integer, nullable=False, default=0),
    # attempts whose outcome stayed unknown: the reply to the end of DATA never came
    # (migration 0010_delivery_truth); such a message is sent at most once more
    Column("outcome_unknown", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", UTCDateTime()),
    Column("lease_owner", String(100)),
    Column("lease_expires_at", UTCDateTime()),
    Column("sent_at", UTCDateTime()),
    Column("transport", String(10)),  # smtp or outbox
    Column("smtp_reply", Text),
    Column("last_error", Text),
    # what came back later (migration 0012_mail_back): a DSN or complaint matched to this
    # row by its VERP envelope sender, e.g. "failed 5.1.1 (recipient): 550 5.1.1 ..."
    Column("returned", Text),
    Column("returned_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("edition_id", "subscriber_id", name="uq_deliveries_edition_subscriber"),
    Index("ix_deliveries_state", "state", "next_attempt_at"),
    Index("ix_deliveries_subscriber", "subscriber_id"),
    # Claims walk these in order and stop after a batch, however many rows are sent already
    # (store.claims; partial, so sent rows are not in them at all).
    Index("ix_deliveries_new", "id", sqlite_where=text(NEW_WHERE),
          postgresql_where=text(NEW_WHERE)),
    Index("ix_deliveries_retry", "next_attempt_at", "id", sqlite_where=text(RETRY_WHERE),
          postgresql_where=text(RETRY_WHERE)),
)

# Addresses that must never receive mail again (hard bounce, complaint, deletion).
# Keyed by a hash so that a deleted subscriber leaves no address behind.
suppressions = Table(
    "suppressions",
    metadata,
    Column("address_hash", String(64), primary_key=True),
    Column("reason", String(40), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Fixed-window counters for the web app's rate limits (client IP, address hash); in the
# store so that several server processes share them (migration 0006_web).
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(100), primary_key=True),  # "ip:<addr>" or "addr:<sha256>"
    Column("window_start", UTCDateTime(), nullable=False),
    Column("count", Integer, nullable=False),
)

# Work a visitor asked for whose outcome depends on the address's state (a sign-up, "send
# me my link"): queued by the web request, done by a worker off the request path so the
# answer cannot tell known from unknown addresses (migration 0011_trust).
visitor_requests = Table(
    "visitor_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # "subscribe" or "link"
    Column("payload", JSON, nullable=False),  # the validated form (address included)
    Column("created_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text),
    Index("ix_visitor_requests_due", "next_attempt_at"),
)

# One row per job run (fetch, deliver, housekeeping) for `digest status` and debugging.
job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job", String(40), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("ok", Integer, nullable=False, default=1),
    Column("counts", JSON, nullable=False, default=dict),
    Column("error", Text),
    Index("ix_job_runs_job_started", "job", "started_at"),
)

# Mail that came back (migration 0012_mail_back): one row per inbound message handled —
# bounce, delay, complaint, auto-reply, subscribe, help, unsubscribe, ignored — with the
# delivery or subscriber it was matched to (erased with them).
inbound_events = Table(
    "inbound_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("delivery_id", Id, ForeignKey("deliveries.id", ondelete="CASCADE")),
    Column("subscriber_id", Id, ForeignKey("subscribers.id", ondelete="CASCADE")),
    Column("fault", String(16)),  # recipient, message, sender, transient, other
    Column("status", String(16)),  # the enhanced status code, e.g. 5.1.1
    Column("detail", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_inbound_events_created", "created_at"),
)

# A reader's private Atom feed key (migration 0013_reader): feed links carry it signed, and a
# new key (revoking the old links) replaces the row's value.
reader_feeds = Table(
    "reader_feeds",
    metadata,
    Column("subscriber_id", Id, ForeignKey("subscribers.id", ondelete="CASCADE"),
           primary_key=True),
    Column("feed_key", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# The encoder's vector of each profile text (a reader's whole interests, or one sub-interest),
# keyed by model and the text's SHA-256 (migration 0015_profile_vectors): a weekly edition
# reads them instead of encoding every reader again (~10 ms CPU a short text, issue 20).
# ``used_at`` is refreshed at most daily, so housekeeping can drop texts nobody has any more.
profile_vectors = Table(
    "profile_vectors",
    metadata,
    Column("model", String(64), primary_key=True),
    Column("text_key", String(64), primary_key=True),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian
    Column("used_at", UTCDateTime(), nullable=False),
    Index("ix_profile_vectors_used", "used_at"),
)
