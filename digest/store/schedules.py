"""The reads of a planning pass: every subscriber's schedule (light: no profile), the full
subscribers of one batch, and the papers any active reader's feedback or seeds name.

A pass decides who is due from the schedules of all active subscribers and reads profiles
(JSON columns, feedback rows) only for the batches it ranks: reading every profile up front
took each planning process seconds per 20,000 readers and held them all in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select

from digest.models import Schedule, Subscriber
from digest.store.guard import reading
from digest.store.schema import feedback, subscribers
from digest.store.subscribers import ID_CHUNK, feedback_for, row_to_subscriber

_SCHEDULE = (subscribers.c.id, subscribers.c.email, subscribers.c.status,
             subscribers.c.frequency, subscribers.c.weekday, subscribers.c.hour,
             subscribers.c.timezone)


def list_schedules(engine: Engine, *, status: str = "active") -> list[Schedule]:
    """Every subscriber with this status, as a ``Schedule``, in id order."""
    query = select(*_SCHEDULE).where(subscribers.c.status == status).order_by(subscribers.c.id)
    with reading(engine) as conn:
        return [Schedule(id=r.id, email=r.email, status=r.status, frequency=r.frequency,
                         weekday=r.weekday, hour=r.hour, timezone=r.timezone)
                for r in conn.execute(query)]


def subscribers_to_rank(engine: Engine, ids: Sequence[int]) -> dict[int, Subscriber]:
    """The subscribers with these ids as they are now, with their liked and disliked papers
    (what ranking reads), by id; ids with no row are absent. One read of rows and one of
    feedback per ``ID_CHUNK`` ids."""
    unique = sorted(set(ids))
    found: dict[int, Subscriber] = {}
    with reading(engine) as conn:
        for start in range(0, len(unique), ID_CHUNK):
            chunk = unique[start:start + ID_CHUNK]
            rows = conn.execute(select(subscribers).where(subscribers.c.id.in_(chunk))).all()
            fb = feedback_for(conn, [r.id for r in rows])
            found.update((r.id, row_to_subscriber(r, liked=fb[r.id][0], disliked=fb[r.id][1]))
                         for r in rows)
    return found


def history_paper_ids(engine: Engine, *, status: str = "active") -> list[str]:
    """Ids of the papers subscribers with this status liked, disliked or named as seeds
    (sorted, each once): what a ranker must know beyond its candidates."""
    readers = select(subscribers.c.id).where(subscribers.c.status == status)
    with reading(engine) as conn:
        ids = set(conn.execute(select(feedback.c.paper_id).distinct()
                               .where(feedback.c.subscriber_id.in_(readers))).scalars())
        for seeds in conn.execute(select(subscribers.c.seed_papers)
                                  .where(subscribers.c.status == status)).scalars():
            ids.update(seeds or ())
    return sorted(ids)
