"""Web push: the server's VAPID key pair and the patients' browser subscriptions.

The key pair comes from NAVBAT_WEB_PUSH["PRIVATE_KEY"] (base64url: the raw 32-byte key or DER, or a PEM),
or, for the demo and the tests, is generated once into var/vapid_private_key (like var/secret_key) and kept.
Changing the key orphans every subscription: browsers subscribed with the old public key.

A subscription is what the browser's PushSubscription.toJSON() gives: {"endpoint", "keys": {"p256dh",
"auth"}}. Subscribing is the patient's own act on his "My appointments" page (the browser asks him too);
`subscribe` validates it and stores it for him (an endpoint already stored moves to him: it is his browser
now), `unsubscribe` forgets it.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from navbat.notify.models import PushSubscription
from navbat.patients.models import Patient

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_ENDPOINT = PushSubscription._meta.get_field("endpoint").max_length or 500


class PushInputError(ValueError):
    """A subscription the browser should not have sent: answered 400 with this (translated) message."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class VapidKeys:
    private_key: str  # base64url of the raw 32-byte private value
    public_key: str  # base64url of the uncompressed point: the browser's applicationServerKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def vapid_keys() -> VapidKeys:
    config: Mapping[str, Any] = getattr(settings, "NAVBAT_WEB_PUSH", {}) or {}
    configured = str(config.get("PRIVATE_KEY") or "")
    key_file = config.get("KEY_FILE") or Path(settings.VAR_DIR) / "vapid_private_key"
    return _vapid_keys(configured, str(key_file))


def vapid_subject() -> str:
    config: Mapping[str, Any] = getattr(settings, "NAVBAT_WEB_PUSH", {}) or {}
    return str(config.get("SUBJECT") or "mailto:admin@navbat.invalid")


def push_ttl() -> int:
    config: Mapping[str, Any] = getattr(settings, "NAVBAT_WEB_PUSH", {}) or {}
    return int(config.get("TTL_SECONDS") or 24 * 3600)


@cache
def _vapid_keys(configured: str, key_file: str) -> VapidKeys:
    text = configured or _key_from_file(Path(key_file))
    return _keys_of(_private_key(text))


def _key_from_file(path: Path) -> str:
    """The key kept under var/, made on first use. Two processes starting at once agree on one key: each
    writes its own file and links it into place, which only the first one does."""
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        raw = key.private_numbers().private_value.to_bytes(32, "big")
        draft = path.with_name(f"{path.name}.{os.getpid()}.new")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(b64url(raw))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _private_key(text: str) -> ec.EllipticCurvePrivateKey:
    if "-----BEGIN" in text:
        loaded = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        data = b64url_decode(text.replace("\n", "").strip())
        if len(data) == 32:
            return ec.derive_private_key(int.from_bytes(data, "big"), ec.SECP256R1())
        loaded = serialization.load_der_private_key(data, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError("The VAPID key must be a P-256 (prime256v1) key.")
    return loaded


def _keys_of(key: ec.EllipticCurvePrivateKey) -> VapidKeys:
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidKeys(private_key=b64url(raw), public_key=b64url(public))


# --- Subscriptions ---


@dataclass(frozen=True)
class SubscriptionInput:
    endpoint: str
    p256dh: str
    auth: str


INVALID = _("This browser's subscription could not be read. Please try again.")


def parse_subscription(data: object) -> SubscriptionInput:
    """Check what the browser sent (PushSubscription.toJSON()). Raises PushInputError."""
    if not isinstance(data, Mapping):
        raise PushInputError(INVALID)
    endpoint, keys = data.get("endpoint"), data.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, Mapping):
        raise PushInputError(INVALID)
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        raise PushInputError(INVALID)
    _check_endpoint(endpoint)
    if _decoded_length(p256dh) != 65 or not b64url_decode(p256dh).startswith(b"\x04"):
        raise PushInputError(INVALID)
    if _decoded_length(auth) != 16:
        raise PushInputError(INVALID)
    return SubscriptionInput(endpoint=endpoint, p256dh=p256dh, auth=auth)


def _check_endpoint(endpoint: str) -> None:
    if len(endpoint) > MAX_ENDPOINT:
        raise PushInputError(INVALID)
    parts = urlsplit(endpoint)
    if not parts.hostname:
        raise PushInputError(INVALID)
    # Browsers' push services are HTTPS; plain HTTP only on this machine (the tests' push-service stub).
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        raise PushInputError(_("Reminders can only be sent through a secure (https) push service."))


def _decoded_length(text: str) -> int:
    if len(text) > 200:
        return -1
    try:
        return len(b64url_decode(text))
    except (binascii.Error, ValueError):
        return -1


def subscribe(*, patient: Patient, data: object) -> PushSubscription:
    """Store the browser's subscription for `patient` (validated first). Raises PushInputError."""
    found = parse_subscription(data)
    with transaction.atomic():
        subscription, _created = PushSubscription.objects.update_or_create(
            endpoint=found.endpoint,
            defaults={"patient": patient, "p256dh": found.p256dh, "auth": found.auth},
        )
    return subscription


def unsubscribe(*, patient: Patient, endpoint: object) -> bool:
    """Forget the patient's subscription at `endpoint`. True if there was one."""
    if not isinstance(endpoint, str) or len(endpoint) > MAX_ENDPOINT:
        raise PushInputError(INVALID)
    deleted, _rows = PushSubscription.objects.filter(patient=patient, endpoint=endpoint).delete()
    return deleted > 0


def push_address(patient: Patient) -> str:
    """The address of `patient` on the "push" channel: his newest subscription's id, or ""."""
    newest = PushSubscription.objects.filter(patient=patient).order_by("-created_at", "-pk").first()
    return str(newest.pk) if newest is not None else ""
