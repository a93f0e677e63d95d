"""GET /static/digest.css and /static/digest.js: the web pages' one stylesheet (accent colour
from DIGEST_ACCENT_COLOR filled in) and one small script, packaged under templates/web/static."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import Response

from digest.render import default_templates_dir
from digest.render.context import lighten

router = APIRouter()
STATIC = default_templates_dir() / "web" / "static"
# Served files change only with a new release; an hour of browser cache is plenty.
CACHE = {"Cache-Control": "public, max-age=3600"}
_DEFAULT_ACCENT = "#3b5bdb"  # the value written in digest.css


def _luminance(hex_color: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``."""
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(int(hex_color[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_on(hex_color: str) -> str:
    """White or near-black, whichever contrasts more with ``hex_color`` (WCAG ratio)."""
    lum = _luminance(hex_color)
    white, black = 1.05 / (lum + 0.05), (lum + 0.05) / 0.05
    return "#ffffff" if white >= black else "#111827"


def _darken(hex_color: str, amount: float = 0.6) -> str:
    """Mix ``#rrggbb`` with black."""
    rgb = [int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c * (1 - amount)):02x}" for c in rgb)


@cache
def stylesheet(accent: str) -> str:
    """``digest.css`` with the accent colour of this deployment: buttons in ``accent``, links
    in it on light backgrounds and in its lighter shade on dark ones."""
    css = (STATIC / "digest.css").read_text(encoding="utf-8")
    css = css.replace("--link: #9dacec;", f"--link: {lighten(accent, 0.45)};")
    css = css.replace("--accent-text: #ffffff;", f"--accent-text: {text_on(accent)};")
    if text_on(accent) != "#ffffff":  # a light accent: links on white need a darker shade
        css = css.replace(f"--link: {_DEFAULT_ACCENT};", f"--link: {_darken(accent)};", 1)
    return css.replace(_DEFAULT_ACCENT, accent.lower())


@router.get("/static/digest.css")
def css(request: Request) -> Response:
    """The stylesheet (text/css)."""
    accent = request.app.state.rt.settings.accent_color
    return Response(stylesheet(accent), media_type="text/css; charset=utf-8", headers=CACHE)


@router.get("/static/digest.js")
def js() -> Response:
    """The time-zone detection script (text/javascript)."""
    body = (STATIC / "digest.js").read_text(encoding="utf-8")
    return Response(body, media_type="text/javascript; charset=utf-8", headers=CACHE)
