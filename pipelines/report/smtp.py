"""Sending email through the server named by CX_SMTP_URL (CONTRACT.md): plain, STARTTLS or SSL.

Transient failures (connection refused or dropped, timeouts, 4xx replies) are retried with a
growing pause; permanent ones (5xx, bad credentials) fail at once. The password is never logged
or put into an error message.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from pipelines.errors import ConfigError, CxError

TRUE = {"1", "true", "yes", "on"}


class DeliveryError(CxError):
    """An email could not be delivered (after retries, for transient faults)."""


@dataclass(frozen=True)
class SmtpServer:
    """A parsed CX_SMTP_URL."""

    host: str
    port: int
    security: str  # plain | starttls | ssl
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Parse `smtp://user:pass@host:port?starttls=1` (or `?ssl=1`); a ConfigError names the variable."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("CX_SMTP_URL: expected smtp://[user:pass@]host[:port][?starttls=1|?ssl=1]")
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - {"starttls", "ssl"})
        if unknown:
            raise ConfigError(f"CX_SMTP_URL: unknown option {unknown[0]!r}; expected starttls or ssl")
        ssl_on = parts.scheme == "smtps" or query.get("ssl") in TRUE
        starttls = query.get("starttls") in TRUE
        if ssl_on and starttls:
            raise ConfigError("CX_SMTP_URL: choose one of ssl=1 and starttls=1")
        security = "ssl" if ssl_on else "starttls" if starttls else "plain"
        try:
            port = parts.port or {"ssl": 465, "starttls": 587, "plain": 25}[security]
        except ValueError:
            raise ConfigError("CX_SMTP_URL: the port is not a number") from None
        return cls(parts.hostname, port, security, unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)

    def __repr__(self) -> str:  # never show the password
        return f"SmtpServer({self.security}://{self.host}:{self.port}, user={self.username!r})"


def _transient(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, ssl.SSLError):
        return False  # an untrusted certificate or a TLS mismatch does not heal by waiting
    return isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError,
                            TimeoutError, OSError))


def send(server: SmtpServer, message: EmailMessage, attempts: int = 4, pause: float = 0.5,
         timeout: float = 30.0) -> None:
    """Deliver `message` to its To addresses; retries transient faults, pausing pause·2^i seconds."""
    for attempt in range(attempts):
        try:
            _send_once(server, message, timeout)
            return
        except (smtplib.SMTPException, OSError) as exc:
            if not _transient(exc) or attempt == attempts - 1:
                raise DeliveryError(f"{server.host}:{server.port}: {type(exc).__name__}: {exc}") from None
            time.sleep(pause * 2**attempt)


def _send_once(server: SmtpServer, message: EmailMessage, timeout: float) -> None:
    context = ssl.create_default_context()
    if server.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with client:
        client.ehlo()
        if server.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if server.username:
            client.login(server.username, server.password or "")
        client.send_message(message)
