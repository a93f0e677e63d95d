"""The reads of a planning pass: every subscriber's schedule (light: no profile) and the
papers any active reader's feedback or seeds name; each batch's full subscribers come from
``store.subscribers.subscribers_by_id(..., feedback=True)``.

A pass decides who is due from the schedules of all active subscribers and reads profiles
(JSON columns, feedback rows) only for the batches it ranks: reading every profile up front
took each planning process seconds per 20,000 readers and held them all in memory.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from digest.models import Schedule
from digest.store.guard import reading
from digest.store.schema import feedback, subscribers

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
