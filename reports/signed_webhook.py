"""The ``tbhook://`` apprise plugin: POST the message text as-is, signed with HMAC-SHA256.

``tbhook://NAME:SECRET@HOST[:PORT]/PATH[?secure=no]`` posts the outbox row's
text (the IOC event JSON) to ``https://HOST:PORT/PATH`` (``http`` with
``secure=no``) with headers

- ``Content-Type: application/json``
- ``X-Trucban-Event``: the event name (``incident.opened`` …)
- ``X-Trucban-Delivery``: the event's stable id (the same on every retry)
- ``X-Trucban-Signature: sha256=<hex HMAC-SHA256(SECRET, raw body)>``

Any 2xx is delivered; anything else fails the attempt and the notification
outbox retries it with backoff (it is a notify channel of kind ``webhook``).
The secret sits in the URL's password, which the outbox's redactor and
:func:`alerting.notify.channels.mask_url` keep out of logs and the API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
from apprise.decorators import notify

from alerting.notify import plugins

SIGNATURE_HEADER = "X-Trucban-Signature"
TIMEOUT_S = 10.0


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the right signature of ``body`` (constant-time; for receivers and tests)."""
    return bool(header) and hmac.compare_digest(sign(secret, body), str(header))


@notify(on="tbhook", name="Trucban signed webhook (HMAC-SHA256)")
def signed_webhook(body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any
                   ) -> bool:
    """Deliver one event; failures are reported through :func:`alerting.notify.plugins.last_failure`."""
    secret = meta.get("password") or meta.get("qsd", {}).get("secret")
    if not secret or not meta.get("host"):
        return plugins._fail("tbhook: URL needs NAME:SECRET@host/path")
    raw = body.encode("utf-8")
    try:
        parsed = json.loads(body)
        event, delivery = str(parsed.get("event", "")), str(parsed.get("delivery", ""))
    except (ValueError, AttributeError):
        event = delivery = ""
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(str(secret), raw),
               "X-Trucban-Event": event, "X-Trucban-Delivery": delivery, "User-Agent": "Trucban-IOC/1"}
    url = plugins._base(meta) + "/" + str(meta.get("fullpath", "")).lstrip("/")
    try:
        r = httpx.post(url, content=raw, headers=headers, timeout=TIMEOUT_S,
                       verify=bool(meta.get("verify", True)))
    except httpx.HTTPError as exc:
        return plugins._fail(f"tbhook: {type(exc).__name__}")
    if not 200 <= r.status_code < 300:
        return plugins._fail(f"tbhook: HTTP {r.status_code}", r)
    return True
