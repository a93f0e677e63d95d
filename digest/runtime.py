"""The composition root: builds the engine, renderer and transport from settings.

Nothing in digest opens a connection at import time; everything that does is made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from digest.config import Settings
from digest.rank import Embedder, default_embedder
from digest.render import Branding, Renderer, default_templates_dir
from digest.send.transport import OutboxTransport, SmtpTransport, Transport
from digest.store.db import open_store


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return open_store(self.settings.database_url)

    @cached_property
    def renderer(self) -> Renderer:
        return Renderer(default_templates_dir(), branding=Branding.from_settings(self.settings))

    @cached_property
    def embedder(self) -> Embedder | None:
        """The packaged sentence encoder (loaded once per process), or None if unavailable."""
        return default_embedder()

    @cached_property
    def secret(self) -> str:
        return self.settings.secret()

    @property
    def transport_name(self) -> str:
        """What ``transport()`` would build, without building it (for messages and reports)."""
        return "smtp" if self.settings.delivers_by_smtp else "outbox"

    def transport(self) -> Transport:
        """SMTP when DIGEST_SMTP__HOST is set, else the outbox directory."""
        if self.settings.delivers_by_smtp:
            return SmtpTransport(self.settings.smtp)
        return OutboxTransport(self.settings.outbox_dir)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
