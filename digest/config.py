"""Settings: one pydantic-settings class read from ``DIGEST_*`` variables and ``.env``.

Nested groups use ``__`` (``DIGEST_SMTP__HOST``). Components receive their own slice
(``settings.smtp``) and never read ``os.environ`` themselves. Every field here must be
documented in ``.env.example`` (a test enforces it).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from digest.config_groups import InboundSettings, ScheduleSettings, SmtpSettings, WebSettings
from digest.errors import ConfigError

# Relative to the working directory (a checkout, or a deployment folder with its own);
# in demo mode, when the working directory has none, the copies packaged with digest.
DEFAULT_FEED = "seeds/arxiv_seed.xml"
DEFAULT_SUBSCRIBERS_DIR = "subscribers"


__all__ = ["InboundSettings", "ScheduleSettings", "Settings", "SmtpSettings", "WebSettings",
           "load_settings"]


class Settings(BaseSettings):
    """Every setting digest reads; see ``.env.example`` for the documented list."""

    model_config = SettingsConfigDict(
        env_prefix="DIGEST_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # `DIGEST_SMTP__DKIM_KEY_PATH=` (as .env.example ships it) means "not set", not "".
        env_ignore_empty=True,
    )

    mode: Literal["demo", "production"] = "demo"
    database_url: str = "sqlite:///digest.db"
    smtp: SmtpSettings = SmtpSettings()
    web: WebSettings = WebSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    inbound: InboundSettings = InboundSettings()
    from_address: str = "digest@localhost"
    # VERP envelope sender base: each message goes out from bounces+<signed token>@domain,
    # so a DSN names its delivery row; unset: the envelope sender is from_address
    bounce_address: str | None = None
    from_name: str = "digest"
    base_url: str = "http://localhost:8000"
    secret_key: SecretStr | None = None
    feeds: Annotated[list[str], NoDecode] = [DEFAULT_FEED]
    outbox_dir: Path = Path("outbox")
    subscribers_dir: Path = Path(DEFAULT_SUBSCRIBERS_DIR)
    papers_per_email: int = Field(default=10, ge=1, le=50)
    product_name: str = "digest"
    accent_color: str = Field(default="#3b5bdb", pattern=r"^#[0-9a-fA-F]{6}$")
    postal_address: str = ""
    http_timeout: float = Field(default=20.0, gt=0)
    http_concurrency: int = Field(default=4, ge=1, le=32)
    # Bounded work (README "Ingest"): a feed's body is refused past feed_max_bytes; past
    # feed_max_entries entries the rest of a document is left unread (feeds list newest
    # first; arXiv's own listings stop at 2,000); one subscriber is ranked against at most
    # rank_pool_max papers, the most recently seen.
    feed_max_bytes: int = Field(default=64 * 2**20, ge=1024)
    feed_max_entries: int = Field(default=2000, ge=1)
    rank_pool_max: int = Field(default=2000, ge=10)
    # arXiv replacements (replace, replace-cross) of papers digest never stored as new are
    # left out; true stores them and ranks them too, marked "revised, vN".
    include_revisions: bool = False
    # Processes that plan one edition together (README "Scale"): 0 = this machine's cores,
    # for editions of PLAN_HELP_FROM or more subscribers; n = n processes for any edition.
    plan_processes: int = Field(default=0, ge=0, le=64)

    @field_validator("feeds", mode="before")
    @classmethod
    def _split_feeds(cls, value: Any) -> Any:
        # Accept a JSON list or a comma/whitespace-separated string: env vars are easier
        # to write as "a.xml,b.xml" than as JSON.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _demo_data(self) -> Settings:
        # An installed digest runs its demo from any folder: with neither feeds nor profiles
        # configured or present here, the demo's feed and readers packaged with digest are
        # used — in demo mode only, and as a pair, so a list with its own feeds (or any
        # production list) never picks up the demo's readers.
        from digest.resources import demo_feed, demo_subscribers_dir

        demo = (self.mode == "demo" and "feeds" not in self.model_fields_set
                and not Path(DEFAULT_FEED).is_file())
        if "feeds" not in self.model_fields_set and not Path(DEFAULT_FEED).is_file():
            self.feeds = [str(demo_feed())] if demo else []
        if (demo and "subscribers_dir" not in self.model_fields_set
                and not Path(DEFAULT_SUBSCRIBERS_DIR).is_dir()):
            self.subscribers_dir = demo_subscribers_dir()
        return self

    @field_validator("from_address")
    @classmethod
    def _check_from(cls, value: str) -> str:
        if "@" not in value or any(c in value for c in "\r\n\0 <>"):
            raise ValueError("must be a bare address like digest@example.org")
        return value

    @field_validator("bounce_address")
    @classmethod
    def _check_bounce(cls, value: str | None) -> str | None:
        if not value:
            return None
        local, at, domain = value.rpartition("@")
        if (not at or not re.fullmatch(r"[A-Za-z0-9._-]+", local)
                or not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", domain)):
            raise ValueError("must be a plain ASCII address like bounces@bounce.example.org")
        if len(local) > 26:  # RFC 5321: local part <= 64 octets; "+" and the token take 38
            raise ValueError("the local part may have at most 26 characters")
        return value

    @field_validator("database_url")
    @classmethod
    def _dialect(cls, value: str) -> str:
        # Heroku-style and libpq URLs say postgres:// or postgresql://; SQLAlchemy knows
        # neither "postgres" nor which driver digest installs (the extra: psycopg 3).
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
        return value

    def check_ready(self) -> None:
        """Raise ConfigError naming the first setting a run (fetch, plan, send, serve)
        cannot work without, before any of that work starts: the production secret, the
        SMTP login pair, the DKIM key/selector pair and its key file."""
        secret = self.secret_key.get_secret_value() if self.secret_key is not None else ""
        if self.mode == "production" and not secret:
            raise ConfigError("DIGEST_SECRET_KEY: required in production mode "
                              "(DIGEST_MODE=production)")
        smtp = self.smtp
        password = smtp.password.get_secret_value() if smtp.password is not None else ""
        if bool(smtp.username) != bool(password):
            given, missing = (("USERNAME", "PASSWORD") if smtp.username
                              else ("PASSWORD", "USERNAME"))
            raise ConfigError(f"DIGEST_SMTP__{missing}: required when "
                              f"DIGEST_SMTP__{given} is set")
        if smtp.dkim_key_path is not None and not smtp.dkim_selector:
            raise ConfigError("DIGEST_SMTP__DKIM_SELECTOR: required when "
                              "DIGEST_SMTP__DKIM_KEY_PATH is set")
        if smtp.dkim_key_path is None and (smtp.dkim_selector or smtp.dkim_domain):
            raise ConfigError("DIGEST_SMTP__DKIM_KEY_PATH: required when "
                              "DIGEST_SMTP__DKIM_SELECTOR or _DOMAIN is set")
        if smtp.dkim_key_path is not None and not Path(smtp.dkim_key_path).is_file():
            raise ConfigError(f"DIGEST_SMTP__DKIM_KEY_PATH: no such file: {smtp.dkim_key_path}")

    def sqlite_path(self) -> Path | None:
        """The SQLite file ``database_url`` names (absolute), or None for another database
        or an in-memory one."""
        for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
            if self.database_url.startswith(prefix):
                name = self.database_url[len(prefix):].split("?", 1)[0]
                return Path(name).resolve() if name and name != ":memory:" else None
        return None

    def database_shown(self) -> str:
        """``database_url`` as an operator may see it: the password replaced by ``***``
        (RFC 3986 userinfo ``user:password@``), a SQLite file as its absolute path."""
        path = self.sqlite_path()
        if path is not None:
            return f"SQLite file {path}"
        return re.sub(r"^([^:/]+://[^:/@]*):[^@/]*@", r"\1:***@", self.database_url)

    @property
    def delivers_by_smtp(self) -> bool:
        return bool(self.smtp.host)

    def secret(self, *, state_dir: Path | None = None) -> str:
        """The signing secret. In demo mode a random one is kept in ``.digest_secret``."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        if self.mode == "production":
            raise ConfigError("DIGEST_SECRET_KEY: required in production mode (DIGEST_MODE=production)")
        path = (state_dir or Path.cwd()) / ".digest_secret"
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(32)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key


def _setting_name(loc: tuple[Any, ...]) -> str:
    return "DIGEST_" + "__".join(str(part).upper() for part in loc if not isinstance(part, int))


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one ConfigError naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = _setting_name(first.get("loc", ()))
        value = first.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        raise ConfigError(f"{name}: {first.get('msg', 'invalid value')}{shown}") from exc
    except ValueError as exc:  # e.g. malformed JSON in a complex env value
        raise ConfigError(f"invalid setting: {exc}") from exc
