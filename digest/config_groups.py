"""The nested setting groups of ``digest.config.Settings``: SMTP (``DIGEST_SMTP__*``), the
web app (``DIGEST_WEB__*``), inbound mail (``DIGEST_INBOUND__*``) and the schedule
(``DIGEST_SCHEDULE__*``). Each component receives its own group, never the environment.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator


class SmtpSettings(BaseModel):
    """Outgoing mail. With ``host`` unset, messages go to the outbox directory instead."""

    host: str | None = None
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    security: Literal["none", "starttls", "tls"] = "none"
    connect_timeout: float = Field(default=30.0, gt=0)  # s to connect, greet, start TLS
    timeout: float = Field(default=30.0, gt=0)  # s per command (EHLO, MAIL, RCPT, DATA, ...)
    # s for the reply to the end of DATA: RFC 5321 §4.5.3.2.6 suggests 10 minutes
    data_timeout: float = Field(default=600.0, gt=0)
    # s before the one more attempt at a message whose outcome is unknown (0: never)
    unknown_retry_seconds: float = Field(default=3600.0, ge=0)
    pool_size: int = Field(default=4, ge=1, le=64)
    max_per_connection: int = Field(default=100, ge=1)
    rate_per_second: float = Field(default=0.0, ge=0)  # 0 = unlimited
    hourly_cap: int = Field(default=0, ge=0)  # 0 = unlimited
    max_attempts: int = Field(default=5, ge=1)
    abort_after_consecutive_failures: int = Field(default=20, ge=1)
    # stop a run after this many refusals in a row that blame us (SPF/DKIM/DMARC, policy)
    abort_after_sender_rejections: int = Field(default=3, ge=1)
    validate_certs: bool = True  # off only for a relay with a self-signed certificate
    local_hostname: str | None = None  # name sent in EHLO; default: this machine's FQDN
    hard_bounce_threshold: int = Field(default=1, ge=1)  # hard bounces before suppression
    retry_base_seconds: float = Field(default=60.0, gt=0)  # first backoff; doubles per attempt
    retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)  # backoff ceiling
    retry_window_seconds: float = Field(default=120.0, ge=0)  # a run waits this long for retries
    lease_seconds: float = Field(default=600.0, gt=0)  # claim lease; renewed while sending
    claim_batch: int = Field(default=50, ge=1)  # rows leased per claim
    # Processes that build (render, sign, compose) messages during a send: 0 builds in the
    # sending process; -1 (auto) starts one per CPU core but one (at most 8) for a run of at
    # least 1,000 due messages, where their start-up (~0.5 s each) pays; N starts N always.
    build_processes: int = Field(default=-1, ge=-1, le=64)
    dkim_key_path: Path | None = None  # PEM private key; enables DKIM (extra: digest[dkim])
    dkim_selector: str | None = None
    dkim_domain: str | None = None  # default: the domain of DIGEST_FROM_ADDRESS


class WebSettings(BaseModel):
    """The subscription web app (``digest serve``): limits and link lifetimes."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    ip_limit: int = Field(default=20, ge=1)  # form POSTs per client IP per ip_window
    ip_window: int = Field(default=600, ge=1)  # seconds
    confirm_resend: int = Field(default=3600, ge=1)  # at most one confirmation per address per this
    confirm_max_age: int = Field(default=172800, ge=60)  # seconds a confirmation link works
    delete_max_age: int = Field(default=86400, ge=60)  # seconds a deletion link works
    undo_max_age: int = Field(default=604800, ge=60)  # seconds the unsubscribe page's undo works
    # Reverse proxies (IPs or CIDR networks, comma-separated) whose X-Forwarded-For is
    # believed: the client is the right-most address no trusted proxy added. Empty: the
    # connecting address is the client, X-Forwarded-For is ignored.
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        import ipaddress

        entries = [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
        return ",".join(entries)

    def proxy_list(self) -> list[str]:
        """The trusted proxies as a list of IP/CIDR strings (empty: trust none)."""
        return [part for part in self.trusted_proxies.split(",") if part]


class InboundSettings(BaseModel):
    """Mail that comes back (``digest inbound``, and the optional listener of ``digest run``):
    DSNs, complaints, subscribe / help / unsubscribe requests."""

    # host:port for an SMTP listener in ``digest run`` (e.g. 127.0.0.1:2526); unset: none
    listen: str | None = None
    max_bytes: int = Field(default=5 * 2**20, ge=10_000)  # larger mails are refused (552)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        host, colon, port = value.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port, like 127.0.0.1:2526")
        return value


class ScheduleSettings(BaseModel):
    """The service (``digest run``): job intervals, lateness limits, leadership, shutdown.

    Durations accept seconds (``90``) or ISO 8601 (``PT5M``).
    """

    fetch_interval: timedelta = Field(default=timedelta(hours=1), gt=timedelta(0))
    deliver_interval: timedelta = Field(default=timedelta(minutes=5), gt=timedelta(0))
    housekeeping_interval: timedelta = Field(default=timedelta(hours=6), gt=timedelta(0))
    misfire_grace: timedelta = Field(default=timedelta(minutes=10), ge=timedelta(0))
    too_late: timedelta = Field(default=timedelta(hours=24), gt=timedelta(0))
    leader_retry: timedelta = Field(default=timedelta(seconds=15), gt=timedelta(0))
    shutdown_timeout: timedelta = Field(default=timedelta(seconds=30), gt=timedelta(0))
    first_edition: Literal["at_once", "on_schedule"] = "at_once"
    unconfirmed_expiry_days: int = Field(default=7, ge=1)
    outbox_retention_days: int = Field(default=30, ge=1)

    @field_validator("fetch_interval", "deliver_interval", "housekeeping_interval",
                     "misfire_grace", "too_late", "leader_retry", "shutdown_timeout",
                     mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        # Environment values arrive as strings; "90" and "0.5" mean seconds.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value
