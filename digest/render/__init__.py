"""Rendering: MJML + Jinja2 templates to HTML and a plaintext twin, compiled once per version."""

from digest.render.renderer import Renderer, default_templates_dir
from digest.render.types import Branding, DigestLinks, RenderedEmail

__all__ = ["Branding", "DigestLinks", "RenderedEmail", "Renderer", "default_templates_dir"]
