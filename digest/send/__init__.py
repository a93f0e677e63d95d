"""Send: transports (pooled SMTP or the outbox), pacing, DKIM, and the ledger-driven loop.

Nothing lost, nothing doubled: a row is marked sent only after the server's 250, and a
crash can re-send at most the messages that were in flight (one per pooled connection).
"""

from digest.send.smtp import SmtpTransport
from digest.send.transport import OutboxTransport, SendReceipt, Transport

__all__ = ["OutboxTransport", "SendReceipt", "SmtpTransport", "Transport"]
