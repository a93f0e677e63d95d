"""Compile MJML+Jinja templates to HTML+Jinja once per template version.

Jinja tags are swapped for inert tokens, MJML compiles the result, the tokens are swapped
back: what is left is an HTML Jinja template that only needs a cheap Jinja render per
subscriber. Partials come in through ``<mj-include path="...">`` and are protected the same way.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from mjml import mjml2html

from digest.errors import RenderError

_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_TOKEN = "zqjx{}xjqz"  # lowercase alphanumerics: MJML copies them untouched into text, attrs, CSS
_TOKEN_PREFIX = "zqjx"
_INCLUDE = re.compile(r'<mj-include\s+path="([^"]+)"\s*/>')
_TOKEN_RE = re.compile(r"zqjx(\d+)xjqz")

Signature = tuple[tuple[str, int, int], ...]


def _resolve(root: Path, name: str) -> Path:
    path = (root / name.lstrip("./")).resolve()
    if root.resolve() not in path.parents:
        raise RenderError(f"template {name!r} is outside {root}")
    return path


def inline_includes(name: str, read: Callable[[str], str], depth: int = 0) -> str:
    """Paste ``<mj-include path="..."/>`` partials in as text. mrml's own include loses the
    body width for included sections (Outlook tables), and pasting keeps both paths equal."""
    if depth > 8:
        raise RenderError(f"{name}: mj-include nested too deep")
    return _INCLUDE.sub(lambda m: inline_includes(m.group(1), read, depth + 1), read(name))


def break_lines(html: str) -> str:
    """Start each ``style`` attribute on a new line. MJML writes the body as one huge line;
    SMTP allows 998 octets per line, so this is what lets the HTML part travel as 7bit
    without quoted-printable. A newline between attributes means nothing to HTML, and
    escaped feed text can never contain ``style="`` (quotes are escaped)."""
    return html.replace(' style="', '\nstyle="')


def _mjml(source: str, name: str) -> str:
    def no_include(path: str) -> str:
        raise RenderError(f"{name}: unsupported include {path!r}")

    try:
        return mjml2html(source, disable_comments=True, include_loader=no_include)
    except Exception as exc:  # mrml raises plain exceptions with its parse error text
        raise RenderError(f"MJML compile of {name} failed: {exc}") from exc


def _digest(sources: list[str]) -> str:
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()


@dataclass
class _Compiled:
    signature: Signature
    digest: str
    html: str


class MjmlCompiler:
    """Turns ``*.mjml.j2`` files into HTML Jinja source, cached by file version."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.compiles = 0  # how many real MJML compiles ran: tests prove "once per version"
        self._cache: dict[str, _Compiled] = {}

    def signature(self, paths: tuple[str, ...]) -> Signature:
        out = []
        for p in paths:
            try:
                st = os.stat(p)  # not Path(p).stat(): this runs on every render
            except OSError:
                return ()
            out.append((p, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def is_current(self, name: str) -> bool:
        entry = self._cache.get(name)
        if entry is None:
            return False
        return self.signature(tuple(p for p, _, _ in entry.signature)) == entry.signature

    def compile(self, name: str) -> str:
        """HTML Jinja source for ``name``; recompiles MJML only when the sources changed."""
        entry = self._cache.get(name)
        if entry is not None and self.is_current(name):
            return entry.html
        tokens: dict[str, str] = {}
        sources: list[str] = []
        stats: list[tuple[str, int, int]] = []

        def protect(text: str) -> str:
            if _TOKEN_PREFIX in text:
                raise RenderError(f"template text may not contain {_TOKEN_PREFIX!r}")

            def swap(match: re.Match[str]) -> str:
                tag = match.group(0)
                if tag.startswith("{#"):
                    return ""
                token = _TOKEN.format(len(tokens))
                tokens[token] = tag
                return token

            return _JINJA_TAG.sub(swap, text)

        def load(path_name: str) -> str:
            path = _resolve(self.root, path_name)
            st = path.stat()  # before the read: an edit racing this compile shows up next time
            stats.append((str(path), st.st_mtime_ns, st.st_size))
            text = path.read_text(encoding="utf-8")
            sources.append(text)
            return text

        try:
            main = protect(inline_includes(name, load))
        except OSError as exc:
            raise jinja2.TemplateNotFound(name) from exc
        if entry is not None and entry.digest == _digest(sources):
            # Touched but unchanged (a checkout, an editor save): no need to pay for MJML.
            entry.signature = tuple(stats)
            return entry.html
        html = break_lines(_mjml(main, name))
        self.compiles += 1
        html = self._restore(html, tokens, name)
        self._cache[name] = _Compiled(tuple(stats), _digest(sources), html)
        return html

    @staticmethod
    def _restore(html: str, tokens: Mapping[str, str], name: str) -> str:
        seen: dict[str, int] = {}

        def back(match: re.Match[str]) -> str:
            token = match.group(0)
            seen[token] = seen.get(token, 0) + 1
            return tokens[token]

        html = _TOKEN_RE.sub(back, html)
        for token, tag in tokens.items():
            # MJML may copy an expression (mj-title feeds <title> and aria-label) or drop one
            # (an mj-attributes default no element uses), as it would drop the rendered value;
            # but a block tag lost or doubled would silently change the template's logic.
            if tag.startswith("{%") and seen.get(token, 0) != 1:
                raise RenderError(f"{name}: MJML lost or duplicated Jinja tag {tag!r}")
        return html


class MjmlLoader(jinja2.BaseLoader):
    """Jinja loader serving compiled HTML for ``*.mjml.j2``; Jinja's auto_reload asks
    ``uptodate`` on each lookup, so a template edit shows on the next render."""

    def __init__(self, compiler: MjmlCompiler) -> None:
        self.compiler = compiler

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if not template.endswith(".mjml.j2"):
            raise jinja2.TemplateNotFound(template)
        html = self.compiler.compile(template)
        path = str(_resolve(self.compiler.root, template))
        return html, path, lambda: self.compiler.is_current(template)


def compile_per_message(root: Path, env: jinja2.Environment, name: str, context: Any) -> str:
    """The naive path: Jinja over the whole MJML source, then MJML, for every message.
    Kept as the reference the cache must equal, and as the benchmark's baseline."""

    def read(path_name: str) -> str:
        return _resolve(root, path_name).read_text(encoding="utf-8")

    rendered = env.from_string(inline_includes(name, read)).render(context)
    return break_lines(_mjml(rendered, name))
