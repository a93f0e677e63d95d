"""Send: transports (SMTP or outbox) and the ledger-driven delivery loop."""

from digest.send.transport import OutboxTransport, SendReceipt, SmtpTransport, Transport

__all__ = ["OutboxTransport", "SendReceipt", "SmtpTransport", "Transport"]
