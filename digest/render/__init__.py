"""Rendering: MJML + Jinja2 templates to HTML and a plaintext twin, compiled once per version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from digest.render.types import Branding, DigestLinks, RenderedEmail

if TYPE_CHECKING:
    from digest.render.renderer import Renderer, default_templates_dir

__all__ = ["Branding", "DigestLinks", "RenderedEmail", "Renderer", "default_templates_dir"]


def __getattr__(name: str) -> Any:
    """``Renderer`` and ``default_templates_dir`` on first use (PEP 562): the types above are
    needed by commands that never render (``digest subscribers list``), Jinja and MJML not."""
    if name in ("Renderer", "default_templates_dir"):
        from digest.render import renderer

        return getattr(renderer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
