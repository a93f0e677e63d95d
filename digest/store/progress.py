"""How far each edition's delivery has come: rows planned, sent, due, waiting for a retry,
in flight, failed or bounced, and how many were sent in the last minutes (``digest status``).

Three reads: which editions still have open rows (along ``ix_deliveries_state``, so only
open rows are visited), the newest finished one (a backward walk of the edition's unique
index), then one grouped count over those editions' rows (their ``edition_id`` range of
``uq_deliveries_edition_subscriber``, never the older editions' rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, case, func, or_, select

from digest.store.guard import reading
from digest.store.schema import deliveries, editions

# Rows that still have work to do: never tried, waiting for a retry, claimed right now,
# or an unknown outcome that is to be sent once more (``next_attempt_at`` set).
_OPEN = or_(deliveries.c.state.in_(("pending", "retry", "sending")),
            and_(deliveries.c.state == "unknown", deliveries.c.next_attempt_at.is_not(None)))


@dataclass(frozen=True, slots=True)
class EditionProgress:
    """One edition's delivery, in rows of the ledger.

    ``planned``: every row; ``due``: waiting to be claimed now (pending, or given back);
    ``retrying``: waiting for a later attempt (retry, or an unknown outcome tried once
    more); ``in_flight``: claimed under a lease; ``sent``/``failed``/``suppressed``/
    ``skipped``/``unknown`` (settled for good with an unknown outcome); ``bounced``: sent
    rows a bounce report later came back for; ``sent_recently``: sent at or after ``since``.
    """

    edition: str
    planned: int = 0
    sent: int = 0
    due: int = 0
    retrying: int = 0
    in_flight: int = 0
    failed: int = 0
    bounced: int = 0
    suppressed: int = 0
    skipped: int = 0
    unknown: int = 0
    sent_recently: int = 0

    @property
    def finished(self) -> bool:
        """No row has work left (nothing due, retrying or in flight)."""
        return not (self.due or self.retrying or self.in_flight)


def edition_progress(engine: Engine, *, now: datetime, since: datetime) -> list[EditionProgress]:
    """Every edition with work left, then the newest finished one, oldest edition first.

    ``now``: what "retrying later" is measured against (``next_attempt_at > now``);
    ``since``: the start of the window ``sent_recently`` counts. Raises StoreError.
    """
    with reading(engine) as conn:
        open_ids = [int(i) for (i,) in conn.execute(
            select(deliveries.c.edition_id).where(_OPEN).distinct())]
        last_done = conn.execute(
            select(func.max(deliveries.c.edition_id))
            .where(deliveries.c.edition_id.not_in(open_ids))).scalar()
        ids = sorted({*open_ids, *([int(last_done)] if last_done is not None else [])})
        if not ids:
            return []
        keys = dict(conn.execute(select(editions.c.id, editions.c.key)
                                 .where(editions.c.id.in_(ids))).all())
        # 0: no further attempt set, 1: one is due now, 2: one is set for later
        later = case((deliveries.c.next_attempt_at.is_(None), 0),
                     (deliveries.c.next_attempt_at > now, 2), else_=1)
        rows = conn.execute(
            select(deliveries.c.edition_id, deliveries.c.state, later.label("later"),
                   func.count(),
                   func.sum(case((deliveries.c.returned.like("failed%"), 1), else_=0)),
                   func.sum(case((and_(deliveries.c.state == "sent", deliveries.c.sent_at >= since), 1),
                                 else_=0)))
            .where(deliveries.c.edition_id.in_(ids))
            .group_by(deliveries.c.edition_id, deliveries.c.state, later)).all()
    tallies = {i: dict.fromkeys(("planned", "sent", "due", "retrying", "in_flight", "failed",
                                 "bounced", "suppressed", "skipped", "unknown",
                                 "sent_recently"), 0) for i in ids}
    for edition_id, state, is_later, n, bounced, recent in rows:
        tally = tallies[int(edition_id)]
        n = int(n)
        tally["planned"] += n
        tally["bounced"] += int(bounced or 0)
        tally["sent_recently"] += int(recent or 0)
        tally[_figure(str(state), int(is_later))] += n
    return [EditionProgress(str(keys.get(i, i)), **tallies[i]) for i in ids]


def _figure(state: str, attempt: int) -> str:
    """Which figure a row in ``state`` counts towards (``attempt``: 0 no next attempt set,
    1 one due now, 2 one set for later)."""
    if state == "sending":
        return "in_flight"
    if state in ("pending", "retry"):
        return "retrying" if attempt == 2 else "due"
    if state == "unknown":  # settled for good unless an attempt is set (store.ledger)
        return ("unknown", "due", "retrying")[attempt]
    return state if state in ("sent", "failed", "suppressed", "skipped") else "unknown"
