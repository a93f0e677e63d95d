"""The live preview page (``digest preview --serve``): every subscriber's message at 375 and
600 px, the text twin and the headers, re-rendered when a template file changes. Sends
nothing; serves on localhost by default.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from digest.app.preview import PreviewItem, preview_stem

BuildPreview = Callable[[datetime | None], list[PreviewItem]]


def templates_version(templates_dir: Path) -> str:
    """Changes whenever any template file is edited, added or removed."""
    parts = []
    for path in sorted(templates_dir.rglob("*")):
        if path.is_file():
            st = path.stat()
            parts.append(f"{path.name}:{st.st_mtime_ns}:{st.st_size}")
    return str(hash("|".join(parts)))


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:14px system-ui,sans-serif;margin:16px;background:#eef0f3;color:#111}}
a{{color:#3b5bdb}} .row{{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}}
iframe{{border:1px solid #ccd;background:#fff}} pre{{background:#fff;padding:12px;
border:1px solid #ccd;max-width:640px;white-space:pre-wrap;overflow:auto}}
table{{border-collapse:collapse;background:#fff}} td,th{{border:1px solid #ccd;padding:4px 8px;
text-align:left;vertical-align:top;font-family:ui-monospace,monospace;font-size:12px}}</style>
</head><body>{body}<script>
// Reload when a template changes: the server re-renders with the new version.
let v=null;setInterval(async()=>{{try{{const r=await fetch('/_version');const t=await r.text();
if(v&&t!==v)location.reload();v=t;}}catch(e){{}}}},1000);</script></body></html>"""


def _query(now: datetime | None) -> str:
    return html.escape("?" + urlencode({"now": now.isoformat()})) if now else ""


def preview_app(build: BuildPreview, *, templates_dir: Path) -> Any:
    """A small FastAPI app: index of subscribers, and per message the HTML at 375 and 600 px,
    the text and the headers side by side. The rendered HTML is served sandboxed."""
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import HTMLResponse, PlainTextResponse, Response

    app = FastAPI(title="digest preview", docs_url=None, redoc_url=None)
    cache: dict[tuple[datetime | None, str], list[PreviewItem]] = {}

    def items(now: datetime | None) -> list[PreviewItem]:
        # One entry: a template edit or another date renders afresh.
        key = (now, templates_version(templates_dir))
        if key not in cache:
            cache.clear()
            cache[key] = build(now)
        return cache[key]

    def item(i: int, now: datetime | None) -> PreviewItem:
        found = items(now)
        if not 0 <= i < len(found):
            raise HTTPException(404, "no such preview")
        return found[i]

    @app.get("/_version", response_class=PlainTextResponse)
    def version() -> str:
        return templates_version(templates_dir)

    @app.get("/", response_class=HTMLResponse)
    def index(now: datetime | None = None) -> str:
        q = _query(now)
        rows = "".join(
            f"<tr><td>{i}</td><td>{html.escape(sub.email)}</td><td>{html.escape(sub.name)}</td>"
            f'<td><a href="/m/{i}{q}">{html.escape(rendered.subject)}</a></td></tr>'
            for i, (sub, rendered, _msg) in enumerate(items(now))
        )
        body = (
            "<h1>digest preview</h1><p>Nothing is sent. Edit a template and this page reloads."
            '</p><form>Edition as of <input name="now" type="datetime-local"> '
            "<button>Show</button></form><table><tr><th>#</th><th>Subscriber</th><th>Name</th>"
            f"<th>Subject</th></tr>{rows}</table>"
        )
        return _PAGE.format(title="digest preview", body=body)

    @app.get("/m/{i}", response_class=HTMLResponse)
    def message(i: int, now: datetime | None = None) -> str:
        sub, rendered, msg = item(i, now)
        q = _query(now)
        heads = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in msg.items()
        )
        frames = "".join(
            f'<div><b>{w} px</b><br><iframe sandbox src="/m/{i}/html{q}" width="{w}" '
            f'height="1400" title="HTML at {w} px"></iframe></div>'
            for w in (375, 600)
        )
        body = (
            f'<p><a href="/{q}">&larr; all subscribers</a> &middot; '
            f'<a href="/m/{i}/eml{q}">download .eml</a></p>'
            f"<h2>{html.escape(rendered.subject)}</h2><p>Preheader: "
            f"{html.escape(rendered.preheader)}</p><table>{heads}</table>"
            f'<div class="row">{frames}<pre>{html.escape(rendered.text)}</pre></div>'
        )
        return _PAGE.format(title=html.escape(sub.email), body=body)

    @app.get("/m/{i}/html")
    def message_html(i: int, now: datetime | None = None) -> Response:
        csp = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"
        return HTMLResponse(item(i, now)[1].html, headers={"Content-Security-Policy": csp})

    @app.get("/m/{i}/eml")
    def message_eml(i: int, now: datetime | None = None) -> Response:
        sub, _rendered, msg = item(i, now)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", preview_stem(sub))
        return Response(msg.as_bytes(), media_type="message/rfc822",
                        headers={"Content-Disposition": f'attachment; filename="{name}.eml"'})

    return app


def serve_preview(build: BuildPreview, *, templates_dir: Path, host: str = "127.0.0.1",
                  port: int = 8025) -> None:
    """Run the preview app until interrupted (local only by default)."""
    import uvicorn

    uvicorn.run(preview_app(build, templates_dir=templates_dir), host=host, port=port,
                log_level="warning")
