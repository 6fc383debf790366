"""E-mail through Django's mail backend (SMTP in production: settings EMAIL_*).

A message goes as text with an HTML alternative when the Outgoing has one, and with its attachments (the
appointment's .ics, which the dispatcher attaches to "booked" and "moved" messages). Its Message-ID is
derived from the idempotency key, so a retry after a lost answer carries the same Message-ID: mail
services that collapse duplicates (Gmail does, by Message-ID) show it once, and anyone reading the headers
sees it is the same message.

Failures: the server refusing the address for good (SMTPRecipientsRefused with 5xx codes) is permanent —
the dispatcher falls back to the next channel; a refused connection, a timeout, a dropped line, any 4xx
answer (greylisting, a full mailbox that may empty) and refused credentials are temporary.
"""

from __future__ import annotations

import hashlib
import smtplib
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

from navbat.notify.channels.base import Outgoing, PermanentFailure, Sent, TemporaryFailure


def message_id(idempotency_key: str) -> str:
    """The same key gives the same Message-ID: <navbat.<sha256 of the key, 32 hex>@<sender's domain>>."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<navbat.{digest}@{_domain()}>"


def _domain() -> str:
    address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1]
    domain = address.rpartition("@")[2]
    return domain or "navbat.invalid"


def build_email(message: Outgoing) -> EmailMultiAlternatives:
    try:
        validate_email(message.to)
    except ValidationError:
        raise PermanentFailure("invalid address") from None
    if not (message.text.strip() or message.html.strip()):
        raise PermanentFailure("empty text")
    email = EmailMultiAlternatives(
        subject=(message.subject or "navbat").replace("\n", " ")[:200],
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={
            "Message-ID": message_id(message.idempotency_key),
            "Content-Language": message.language,
            # Automated mail: no out-of-office answers back (RFC 3834).
            "Auto-Submitted": "auto-generated",
        },
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    for attachment in message.attachments:
        # "text/calendar; charset=utf-8" → "text/calendar": Django adds the charset of a text part itself.
        mimetype = attachment.mimetype.split(";", 1)[0].strip() or "application/octet-stream"
        email.attach(attachment.filename, attachment.content, mimetype)
    return email


class EmailChannel:
    """The "email" channel."""

    def send(self, message: Outgoing) -> Sent:
        email = build_email(message)
        try:
            with get_connection(fail_silently=False) as connection:
                count = connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure("address refused by the mail server") from None
            raise TemporaryFailure("address deferred by the mail server") from None
        except smtplib.SMTPDataError as error:
            if error.smtp_code >= 500:
                raise PermanentFailure(f"message refused by the mail server ({error.smtp_code})") from None
            raise TemporaryFailure(f"message deferred by the mail server ({error.smtp_code})") from None
        except smtplib.SMTPAuthenticationError:
            raise TemporaryFailure("mail server refused our credentials") from None
        except smtplib.SMTPResponseException as error:
            raise TemporaryFailure(f"mail server error ({error.smtp_code})") from None
        except (smtplib.SMTPException, OSError):
            # SMTPServerDisconnected, SMTPConnectError, refused connection, timeout, TLS failure.
            raise TemporaryFailure("mail server unreachable") from None
        if not count:
            raise TemporaryFailure("mail server took nothing")
        return Sent(provider_id=message_id(message.idempotency_key).strip("<>"))
