"""Use-case helper: claimed deliveries become message bytes, a batch at a time.

The store is read once per claimed batch (its subscribers, the papers of all its picks;
``read_jobs``), never per message; what comes out is plain data (``MailJob``) that any
process can turn into a message (``MessageMaker``), so the same code builds in process and
in the worker processes of ``digest.app.build_pool``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.app.digest_mail import DigestMail
from digest.models import Claim, Paper, Pick, Ranking, Subscriber
from digest.send.dkim import DkimSigner
from digest.send.outcome import Outgoing
from digest.send.transport import flatten, needs_smtputf8
from digest.send.verp import Verp
from digest.store import Engine
from digest.store.papers import get_papers
from digest.store.subscribers import subscribers_by_id


@dataclass(frozen=True, slots=True)
class MailJob:
    """One message's inputs as plain (picklable) data: the claim, its subscriber as read
    for this batch (None: gone) and the stored papers of its picks, by id."""

    claim: Claim
    subscriber: Subscriber | None
    papers: dict[str, Paper]


def read_jobs(engine: Engine, claims: Sequence[Claim]) -> list[MailJob]:
    """The jobs of ``claims``, in their order, from two store reads for the whole batch
    (subscribers, papers). Raises StoreError when the store fails."""
    subs = subscribers_by_id(engine, [c.subscriber_id for c in claims])
    wanted = list(dict.fromkeys(p["id"] for c in claims for p in c.picks))
    papers = get_papers(engine, wanted) if wanted else {}
    return [MailJob(c, subs.get(c.subscriber_id),
                    {p["id"]: papers[p["id"]] for p in c.picks if p["id"] in papers})
            for c in claims]


@dataclass(frozen=True, slots=True)
class MessageMaker:
    """Renders, composes, flattens and (with DKIM) signs one job's message: no store."""

    mail: DigestMail
    dkim: DkimSigner | None = None
    verp: Verp | None = None  # with VERP the envelope sender names the ledger row

    def make(self, job: MailJob, now: datetime, *, keep_message: bool = True) -> Outgoing:
        """The message of ``job`` dated ``now``, as wire bytes (``data``) plus the parsed
        message unless ``keep_message`` is False (worker processes send bytes only). A
        subscriber who left since planning gets none (whether mail may still go is asked
        again right before sending: the ledger's ``refusal``). Raises RenderError or
        AddressError for a message that cannot be built."""
        sub, claim = job.subscriber, job.claim
        if sub is None or sub.status != "active":
            return Outgoing(None, skip_state="suppressed",
                            skip_reason=f"subscriber is {sub.status if sub else 'gone'}")
        picks = tuple(Pick(paper=job.papers[p["id"]], score=p["score"],
                           reasons=tuple(p["reasons"]))
                      for p in claim.picks if p["id"] in job.papers)
        ranking = Ranking(picks=picks, quiet=claim.quiet, considered=len(picks))
        _, message = self.mail.compose(sub, ranking, edition_key=claim.edition_key, now=now)
        # The envelope sender (Return-Path) is where a later bounce goes: with VERP it
        # names this very row, so the bounce can be matched without reading its text.
        sender = self.verp.address("delivery", claim.id) if self.verp else self.mail.from_address
        data = flatten(message, utf8=needs_smtputf8(sender, sub.email))
        if self.dkim is not None:
            data = self.dkim(data)
        # The value as stored, not ``message["Message-ID"]``: that parses the header anew.
        message_id = next(str(v) for k, v in message.raw_items() if k == "Message-ID")
        return Outgoing(message if keep_message else None, sender=sender, recipient=sub.email,
                        data=data, message_id=message_id)
