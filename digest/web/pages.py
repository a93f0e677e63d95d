"""HTML pages: one autoescaping Jinja2 environment over ``templates/web``."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from digest.render import default_templates_dir

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(default_templates_dir() / "web"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def fragment(template: str, **context: Any) -> str:
    """A template rendered to an HTML string (autoescaped), e.g. a feed entry's content."""
    return _env.get_template(template).render(**context)


def page(request: Request, template: str, *, status: int = 200,
         headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """A full page from ``template`` with ``product`` (the product name) in its context."""
    rt = request.app.state.rt
    html = _env.get_template(template).render(product=rt.settings.product_name, **context)
    return HTMLResponse(html, status_code=status, headers=headers)


def message(request: Request, title: str, text: str, *, status: int = 200,
            headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page that only says something (errors, thanks, done)."""
    return page(request, "message.html", status=status, headers=headers, title=title, text=text)
