"""Benchmark: personalized digests per second (render + text + compose + wire bytes, 10
papers each, varied subscribers) against the naive path (Jinja -> MJML compile ->
stdlib EmailMessage, per subscriber), in the same run. Last line: one JSON object.

Three figures: "compiled once" is the render + compose ceiling (links pre-made, unsigned);
"product build" is what a send runs per message (``build_mail.MessageMaker.make``: 3 signed
tokens and 20 HMAC-tagged feedback links, render, compose, wire bytes; the store read is per
batch and not timed here);
"naive per msg" is the old per-message path (the baseline).

    python bench/render.py [--digests N] [--naive N] [--pool P] [--repeat R]

Rates use CPU time of this single process (one core), best of R runs; the machine may be
shared, so wall-clock would measure the neighbours too.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from digest.app.build_mail import MailJob, MessageMaker
from digest.app.digest_mail import DigestMail
from digest.compose import compose_message, make_message_id
from digest.links import Links
from digest.models import Claim, Paper, Pick, Profile, Ranking, Subscriber
from digest.render import Renderer, default_templates_dir
from digest.render.context import paper_fields
from digest.render.fields import wrap
from digest.render.samples import sample_branding, sample_edition, sample_links, sample_papers

NAMES = ("Ada Lovelace", "Grace Hopper", "", "Zoë Ünïcode", "Alan Turing", "Émilie du Châtelet")
INTERESTS = ("long-context language models", "state space models", "beam search decoding",
             "sequence parallelism for training", "copyright and memorization in LLMs")
REASONS = ("matches your interest in “sequence models”", "by an author you follow",
           "trending on Hugging Face this week", "similar to a paper you liked",
           "in cs.CL, one of your categories")


def paper_pool(size: int) -> list[Paper]:
    """``size`` distinct papers (an edition's candidates), varied from the real samples."""
    base = sample_papers()
    return [
        replace(p, id=f"{p.id}-{k}", title=f"{p.title} ({k})", upvotes=(k * 7) % 200 or None)
        for k in range(size // len(base) + 1) for p in base
    ][:size]


def workload(count: int, pool: list[Paper]) -> list[tuple[Subscriber, Ranking]]:
    out = []
    for n in range(count):
        sub = Subscriber(id=10_000 + n, email=f"reader{n}@example.org", name=NAMES[n % len(NAMES)],
                         profile=Profile(interests=INTERESTS[n % len(INTERESTS)]))
        picks = tuple(
            Pick(paper=pool[(n * 13 + i * 31) % len(pool)], score=1 - i / 20,
                 reasons=(REASONS[(n + i) % 5], REASONS[(n + 2 * i + 1) % 5]))
            for i in range(10)
        )
        out.append((sub, Ranking(picks=picks, considered=len(pool))))
    return out


def fast_one(renderer: Renderer, sub: Subscriber, ranking: Ranking) -> bytes:
    edition, links = sample_edition(), sample_links(sub)
    rendered = renderer.render_digest(subscriber=sub, ranking=ranking, edition=edition, links=links)
    msg = compose_message(
        rendered, to_addr=sub.email, to_name=sub.name, from_addr="digest@example.org",
        from_name="Paper Digest", message_id=make_message_id(edition.key, sub.id, "example.org"),
        date=datetime(2026, 11, 30, 8, tzinfo=UTC), list_id="Paper Digest <weekly.example.org>",
        unsubscribe_url=links.unsubscribe_url, unsubscribe_mailto=links.list_unsubscribe_mailto,
    )
    return msg.as_bytes()


def naive_one(renderer: Renderer, sub: Subscriber, ranking: Ranking) -> bytes:
    edition, links = sample_edition(), sample_links(sub)
    context = renderer.digest_context(sub, ranking, edition, links)
    html = renderer.render_html_per_message("digest", context)  # Jinja, then MJML, every time
    text = renderer.render_text("digest", context)
    msg = EmailMessage()
    msg["From"] = formataddr(("Paper Digest", "digest@example.org"))
    msg["To"] = formataddr((context["name"], sub.email))
    msg["Subject"] = context["subject"]
    msg["Date"] = format_datetime(datetime(2026, 11, 30, 8, tzinfo=UTC))
    msg["Message-ID"] = make_message_id(edition.key, sub.id, "example.org")
    msg["List-Id"] = "Paper Digest <weekly.example.org>"
    msg["List-Unsubscribe"] = f"<{links.unsubscribe_url}>, <{links.list_unsubscribe_mailto}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def product_jobs(jobs: list[tuple[Subscriber, Ranking]]) -> list[MailJob]:
    """The same workload as the send path's plain jobs (claims with frozen picks)."""
    out = []
    for n, (sub, ranking) in enumerate(jobs):
        picks = tuple({"id": p.paper.id, "score": p.score, "reasons": list(p.reasons)}
                      for p in ranking.picks)
        claim = Claim(id=n + 1, edition_id=1, edition_key=sample_edition().key,
                      subscriber_id=sub.id, picks=picks, quiet=False, attempts=0)
        out.append(MailJob(claim, replace(sub, public_id=f"pub{sub.id:08d}"),
                           {p.paper.id: p.paper for p in ranking.picks}))
    return out


def measure_product(maker: MessageMaker, jobs: list[MailJob], repeat: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    now = datetime(2026, 11, 30, 8, tzinfo=UTC)
    for _ in range(repeat):
        paper_fields.cache_clear()
        wrap.cache_clear()
        start = time.process_time()
        size = sum(len(maker.make(job, now).data or b"") for job in jobs)
        best = min(best, time.process_time() - start)
    return len(jobs) / best, size // len(jobs)


def measure(fn, renderer: Renderer, jobs: list[tuple[Subscriber, Ranking]], repeat: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeat):
        paper_fields.cache_clear()  # each run pays for cleaning the edition's papers once
        wrap.cache_clear()
        start = time.process_time()
        size = sum(len(fn(renderer, sub, ranking)) for sub, ranking in jobs)
        best = min(best, time.process_time() - start)
    return len(jobs) / best, size // len(jobs)


def reference_ms() -> float:
    """CPU ms for a fixed pure-Python loop: lets a reader scale these figures between machines
    (this machine may be shared and slower than a quiet one)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        sum(range(3_000_000))
        best = min(best, time.process_time() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digests", type=int, default=2000)
    parser.add_argument("--naive", type=int, default=200)
    parser.add_argument("--pool", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    renderer = Renderer(default_templates_dir(), branding=sample_branding())
    pool = paper_pool(args.pool)
    jobs = workload(max(args.digests, args.naive), pool)
    fast_one(renderer, *jobs[0])  # compile the templates once, outside the timing
    sub, ranking = jobs[1]  # both paths must produce the same HTML, or the race is meaningless
    context = renderer.digest_context(sub, ranking, sample_edition(), sample_links(sub))
    if renderer.render_html("digest", context) != renderer.render_html_per_message("digest", context):
        raise SystemExit("compiled and per-message HTML differ")

    fast_rate, fast_bytes = measure(fast_one, renderer, jobs[: args.digests], args.repeat)
    links = Links("https://digest.example.org", "b" * 32, "digest@example.org")
    maker = MessageMaker(DigestMail(renderer, links, "digest@example.org", "Paper Digest",
                                    "Paper Digest"))
    product_rate, product_bytes = measure_product(maker, product_jobs(jobs[: args.digests]),
                                                  args.repeat)
    naive_rate, naive_bytes = measure(naive_one, renderer, jobs[: args.naive], args.repeat)
    ref = reference_ms()
    print(f"python {platform.python_version()} on {platform.machine()}, CPU time, best of {args.repeat}")
    print(f"reference loop: sum(range(3_000_000)) = {ref:.1f} ms CPU on this machine")
    print(f"edition pool: {len(pool)} papers, 10 per digest, {args.digests} varied subscribers")
    print(f"compiled once : {fast_rate:8.0f} digests/s per core  ({fast_bytes} bytes/message)")
    print(f"product build : {product_rate:8.0f} digests/s per core  ({product_bytes} bytes/message,"
          " signed links)")
    print(f"naive per msg : {naive_rate:8.0f} digests/s per core  ({naive_bytes} bytes/message)")
    print(f"speedup       : {fast_rate / naive_rate:8.1f}x   (targets: >= 1500/s, >= 8x)")
    print(f"product/naive : {product_rate / naive_rate:8.1f}x   product/ceiling: "
          f"{product_rate / fast_rate:.2f}   (goal: product >= 1000/s per core)")
    print(json.dumps({
        "bench": "render", "digests_per_second": round(fast_rate, 1),
        "naive_digests_per_second": round(naive_rate, 1),
        "product_build_per_second": round(product_rate, 1),
        "product_speedup": round(product_rate / naive_rate, 2),
        "speedup": round(fast_rate / naive_rate, 2), "papers_per_digest": 10,
        "digests": args.digests, "naive_digests": args.naive, "pool": len(pool),
        "message_bytes": fast_bytes, "clock": "process_time", "cores": 1,
        "mjml_compiles": renderer.compiler.compiles, "reference_loop_ms": round(ref, 1),
    }))


if __name__ == "__main__":
    main()
