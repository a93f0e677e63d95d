"""Paper embeddings kept with each paper, so a paper is encoded once, never per subscriber.

Each blob is stored with the tag of the encoder that made it (and of the rows it holds: see
``app.rankers.stored_model``); a different encoder (a new model) simply re-encodes instead of
mixing vector spaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Engine, bindparam, select, update

from digest.store.guard import reading, writing
from digest.store.schema import papers

_CHUNK = 500


def load_embeddings(engine: Engine, ids: Sequence[str], *, model: str) -> dict[str, bytes]:
    """Stored blobs for ``ids`` that ``model`` made (others count as missing)."""
    found: dict[str, bytes] = {}
    with reading(engine) as conn:
        for start in range(0, len(ids), _CHUNK):
            query = select(papers.c.id, papers.c.embedding).where(
                papers.c.id.in_(list(ids[start : start + _CHUNK])),
                papers.c.embedding_model == model,
                papers.c.embedding.is_not(None),
            )
            found.update((pid, bytes(blob)) for pid, blob in conn.execute(query))
    return found


def save_embeddings(engine: Engine, blobs: Mapping[str, bytes], *, model: str) -> int:
    """Store blobs by paper id; returns how many rows were updated."""
    if not blobs:
        return 0
    statement = (
        update(papers)
        .where(papers.c.id == bindparam("pid"))
        .values(embedding=bindparam("blob"), embedding_model=model)
    )
    rows = [{"pid": pid, "blob": blob} for pid, blob in blobs.items()]
    with writing(engine) as conn:
        result = conn.execute(statement, rows)
    return int(result.rowcount or 0)
