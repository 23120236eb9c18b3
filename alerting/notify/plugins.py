"""Apprise custom plugins (registered with ``apprise.decorators.notify``) for Vietnamese services.

``zalooa://ACCESS_TOKEN@HOST[:PORT]/TARGET?template=ID&param=content&tracking=REF``
    Zalo Official Account. A phone number target (digits, 84…) gets a ZNS
    template message: ``POST /message/template`` with header ``access_token`` and
    JSON ``{"phone", "template_id", "template_data": {param: text}, "tracking_id"}``
    (host ``business.openapi.zalo.me``). Any other target is an OA user id and
    gets a customer-service text: ``POST /v3.0/oa/message/cs`` with
    ``{"recipient": {"user_id"}, "message": {"text"}}`` (host ``openapi.zalo.me``).
    Success is HTTP 200 with ``"error": 0``. ``?secure=no`` talks plain HTTP (tests).

``smsgw://API_KEY@HOST[:PORT]/PHONE?brandname=TRUCBAN&path=/api/sms/send&tracking=REF``
    A generic brandname SMS gateway: ``POST {path}`` with ``Authorization: Bearer
    API_KEY`` and JSON ``{"to", "brandname", "text", "client_ref"}``; any 2xx is
    accepted, 429 carries ``Retry-After``. ``client_ref`` lets the gateway drop a
    duplicate after a crash-retry.

The last failure (already free of secrets) is kept per thread for the outbox.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx
from apprise.decorators import notify

_local = threading.local()
PHONE = re.compile(r"^\+?84[0-9]{8,10}$|^0[0-9]{9,10}$")
TIMEOUT_S = 10.0


def last_failure() -> tuple[str | None, float | None]:
    """(error text, retry-after seconds) of this thread's last failed custom-plugin send; clears it."""
    out = (getattr(_local, "error", None), getattr(_local, "retry_after", None))
    _local.error, _local.retry_after = None, None
    return out


def _fail(text: str, response: httpx.Response | None = None) -> bool:
    _local.error = text
    _local.retry_after = None
    if response is not None and response.headers.get("Retry-After", "").isdigit():
        _local.retry_after = float(response.headers["Retry-After"])
    return False


def _base(meta: dict[str, Any]) -> str:
    secure = str(meta.get("qsd", {}).get("secure", "yes")).lower() not in ("no", "0", "false")
    port = f":{meta['port']}" if meta.get("port") else ""
    return f"{'https' if secure else 'http'}://{meta.get('host', '')}{port}"


def _target(meta: dict[str, Any]) -> str:
    return str(meta.get("fullpath", "")).strip("/").split("/")[0]


def _post(url: str, headers: dict[str, str], payload: dict[str, Any], verify: bool) -> httpx.Response:
    return httpx.post(url, json=payload, headers=headers, timeout=TIMEOUT_S, verify=verify)


def to_84(phone: str) -> str:
    """'+84901234567' / '0901234567' → '84901234567' (the form Zalo ZNS expects)."""
    digits = re.sub(r"[^0-9]", "", phone)
    return "84" + digits[1:] if digits.startswith("0") else digits


@notify(on="zalooa", name="Zalo Official Account / ZNS")
def zalo_oa(body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
    """Send through a Zalo OA: ZNS template to a phone, or a CS text to an OA user id."""
    qsd = meta.get("qsd", {})
    token = meta.get("user") or qsd.get("token")
    target = _target(meta)
    if not token or not target:
        return _fail("zalooa: URL needs ACCESS_TOKEN@host/target")
    headers = {"access_token": str(token), "Content-Type": "application/json"}
    text = f"{title}\n{body}" if title else body
    if PHONE.match(target):
        if not qsd.get("template"):
            return _fail("zalooa: ZNS to a phone number needs ?template=ID")
        payload: dict[str, Any] = {
            "phone": to_84(target),
            "template_id": qsd["template"],
            "template_data": {qsd.get("param", "content"): text[:400]},
            "tracking_id": qsd.get("tracking", ""),
        }
        url = _base(meta) + "/message/template"
    else:
        payload = {"recipient": {"user_id": target}, "message": {"text": text[:2000]}}
        url = _base(meta) + "/v3.0/oa/message/cs"
    try:
        r = _post(url, headers, payload, bool(meta.get("verify", True)))
    except httpx.HTTPError as exc:
        return _fail(f"zalooa: {type(exc).__name__}")
    if r.status_code != 200:
        return _fail(f"zalooa: HTTP {r.status_code}", r)
    try:
        error = r.json().get("error")
    except ValueError:
        return _fail("zalooa: answer is not JSON")
    if error != 0:
        return _fail(f"zalooa: error {error}", r)
    return True


@notify(on="smsgw", name="HTTP SMS gateway (brandname)")
def sms_gateway(
    body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any
) -> bool:
    """Send one SMS through a generic brandname HTTP gateway."""
    qsd = meta.get("qsd", {})
    key = meta.get("user") or qsd.get("key")
    target = _target(meta)
    if not key or not target:
        return _fail("smsgw: URL needs API_KEY@host/phone")
    payload = {
        "to": target,
        "brandname": qsd.get("brandname", "TRUCBAN"),
        "text": f"{title}\n{body}" if title else body,
        "client_ref": qsd.get("tracking", ""),
    }
    url = _base(meta) + "/" + str(qsd.get("path", "/api/sms/send")).lstrip("/")
    try:
        r = _post(url, {"Authorization": f"Bearer {key}"}, payload, bool(meta.get("verify", True)))
    except httpx.HTTPError as exc:
        return _fail(f"smsgw: {type(exc).__name__}")
    if not 200 <= r.status_code < 300:
        return _fail(f"smsgw: HTTP {r.status_code}", r)
    return True
