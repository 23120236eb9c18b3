"""Sending one message through one channel with apprise; masking the secrets in channel URLs.

Apprise's own per-target throttle (``request_rate_per_sec``, 5.5 s for many
plugins) would block the sending thread; Trucban sets it to 0 deliberately and
rate-limits per channel itself (:mod:`alerting.notify.ratelimit`), so a slow
channel never holds up the others. Secrets never leave this module: errors are
redacted (case-insensitively: apprise lower-cases host names) and URLs shown only
through :func:`mask_url`, which never raises. A URL apprise cannot parse is a
*permanent* failure of that channel for the row (it falls back at once) and its
error names the channel, never the URL or apprise's own words about it.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import apprise

from alerting.notify import plugins
from alerting.notify.config import SHORT_KINDS, Channel, ChannelKind
from alerting.notify.messages import Rendered

log = logging.getLogger(__name__)
CUSTOM_SCHEMES = ("zalooa", "smsgw")
_capture = threading.local()


class _CaptureHandler(logging.Handler):
    """Keeps apprise's warnings of the current thread's send (to explain a failure)."""

    def emit(self, record: logging.LogRecord) -> None:
        bucket = getattr(_capture, "records", None)
        if bucket is not None and record.levelno >= logging.WARNING:
            bucket.append(record.getMessage())


_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(_CaptureHandler())
_apprise_log.setLevel(logging.WARNING)
_apprise_log.propagate = False


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of one attempt; ``error`` is already redacted."""

    ok: bool
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False  # this channel cannot send this row at all: fall back at once


@dataclass
class Redactor:
    """Replaces every known secret in a text with '****'."""

    secrets: set[str] = field(default_factory=set)

    def add(self, *values: str | None) -> None:
        """Remember secrets (short values are ignored to avoid mangling ordinary words)."""
        for v in values:
            if v and len(v) >= 4:
                self.secrets.add(v)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            for form in dict.fromkeys((secret, quote(secret, safe=""), quote(secret, safe=":"))):
                text = re.sub(re.escape(form), "****", text, flags=re.IGNORECASE)
        return text


def url_secrets(url: str) -> list[str]:
    """Every part of a channel URL that may be secret, found without trusting it to parse.

    User and password, and for a URL whose authority has no ``@`` the whole
    authority and what follows its ``:`` (a Zalo/Telegram bot token
    ``ID:SECRET`` looks like host:port), plus long path segments and query values.
    """
    out: list[str] = []
    rest = url.split("://", 1)[1] if "://" in url else url
    authority, _, tail = rest.partition("/")
    if "?" in authority:
        authority, _, query_first = authority.partition("?")
        tail = "?" + query_first + tail
    userinfo, at, _hostport = authority.rpartition("@")
    if at:
        out.append(userinfo)
        out += userinfo.split(":", 1)
    elif ":" in authority and not authority.rsplit(":", 1)[1].isdigit() and not authority.startswith("["):
        out.append(authority)
        out.append(authority.split(":", 1)[1])
    path, _, query = tail.partition("?")
    out += [seg for seg in path.split("/") if len(seg) >= 16 and "{target}" not in seg]
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key.lower() in ("token", "key", "secret", "password", "pass", "apikey", "access_token"):
            out.append(value)
    return [s for s in out if s]


def mask_url(url: str) -> str:
    """A channel URL safe to show: apprise's privacy form, else user/password/tokens starred; never raises."""
    try:
        return _mask_url(url)
    except Exception:  # noqa: BLE001 - a URL nobody can parse still must not leak through a traceback
        scheme = url.split("://", 1)[0] if "://" in url else ""
        return f"{scheme[:20]}://***"


def _mask_url(url: str) -> str:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in CUSTOM_SCHEMES:
        try:
            obj = apprise.Apprise.instantiate(url.replace("{target}", "target"), suppress_exceptions=True)
        except Exception:  # noqa: BLE001 - any parse problem: fall back to the regex mask
            obj = None
        if obj:
            return str(obj.url(privacy=True))
        return f"{scheme[:20]}://***"  # apprise cannot tell which part is the secret: hide it all
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    auth = "****@" if parts.username or parts.password else ""
    path = re.sub(r"[A-Za-z0-9_:-]{16,}", "****", parts.path)
    return f"{parts.scheme}://{auth}{host}{port}{path}"


class ChannelSender:
    """Builds the apprise object for (channel, target) and sends a rendered message."""

    def __init__(self, channels: dict[str, Channel], timeout_s: float = 10.0) -> None:
        self.channels = channels
        self.timeout_s = timeout_s
        self.redact = Redactor()
        for ch in channels.values():
            self._learn_secrets(ch.url.get_secret_value())

    def _learn_secrets(self, url: str) -> None:
        self.redact.add(*url_secrets(url))
        try:
            parts = urlsplit(url.replace("{target}", "x"))
            self.redact.add(parts.password)
            if url.split("://", 1)[0].lower() in CUSTOM_SCHEMES:
                self.redact.add(parts.username)
        except ValueError:
            pass
        try:
            obj = apprise.Apprise.instantiate(url.replace("{target}", "target"), suppress_exceptions=True)
        except Exception:  # noqa: BLE001
            obj = None
        if obj is not None:
            for name, spec in getattr(obj, "template_tokens", {}).items():
                if spec.get("private"):
                    value = getattr(obj, name, None) or getattr(obj, spec.get("map_to", ""), None)
                    if isinstance(value, str):
                        self.redact.add(value)

    def url_for(self, channel: str, target: str, tracking: str) -> str:
        """The concrete apprise URL for one send (contains secrets: never log it)."""
        ch = self.channels[channel]
        url = ch.url.get_secret_value().replace("{target}", quote(target, safe="+@"))
        if url.split("://", 1)[0].lower() in CUSTOM_SCHEMES:
            url += ("&" if "?" in url else "?") + f"tracking={quote(tracking, safe='')}"
        return url

    def send(
        self,
        channel: str,
        target: str,
        message: Rendered,
        tracking: str,
        headers: dict[str, str] | None = None,
    ) -> SendResult:
        """One attempt through one channel; never raises for delivery problems."""
        ch = self.channels.get(channel)
        if ch is None:
            return SendResult(False, f"kênh {channel!r} không còn được cấu hình", permanent=True)
        try:  # apprise's own words about a bad URL quote the secret: they are never shown
            url = self.url_for(channel, target, tracking)
            obj = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        except Exception:  # noqa: BLE001 - a URL that breaks the parser is a bad URL
            obj = None
        if obj is None:
            return SendResult(
                False,
                f"{channel}: apprise không đọc được URL của kênh (kiểm tra cấu hình kênh {channel})",
                permanent=True,
            )
        self._tune(obj, ch, headers or {}, tracking)
        title, body, fmt = _variant(ch.kind, message)
        _capture.records = []
        plugins.last_failure()
        try:
            ok = bool(obj.notify(body=body, title=title, body_format=fmt))
        except Exception as exc:  # noqa: BLE001 - a plugin bug is a failed attempt, not a crash
            ok = False
            _capture.records.append(f"{type(exc).__name__}: {exc}")
        finally:
            captured, _capture.records = _capture.records, None
        if ok:
            return SendResult(True)
        custom_error, retry_after = plugins.last_failure()
        reason = custom_error or "; ".join(captured[-2:]) or "kênh từ chối"
        return SendResult(False, self.redact(f"{channel}: {reason}"), retry_after)

    def _tune(self, obj: Any, ch: Channel, headers: dict[str, str], tracking: str) -> None:
        obj.request_rate_per_sec = 0  # Trucban's own per-channel limiter decides the pace
        obj.socket_connect_timeout = self.timeout_s
        obj.socket_read_timeout = self.timeout_s
        if ch.api_base and ch.kind is ChannelKind.ZALO:
            obj.notify_url = ch.api_base.rstrip("/") + "/bot{token}/sendMessage"
        if ch.api_base and ch.kind is ChannelKind.TELEGRAM:
            obj.notify_url = ch.api_base.rstrip("/") + "/bot"
        if isinstance(getattr(obj, "smtp_host", None), str):  # apprise keeps "[::1]"; smtplib wants ::1
            obj.smtp_host = obj.smtp_host.removeprefix("[").removesuffix("]")
        if ch.kind is ChannelKind.EMAIL and isinstance(getattr(obj, "headers", None), dict):
            obj.headers.update({"X-Trucban-Outbox": tracking, **headers})
        if ch.kind is ChannelKind.WEBHOOK and isinstance(getattr(obj, "headers", None), dict):
            obj.headers.update({"X-Trucban-Outbox": tracking, **headers})


def _variant(kind: ChannelKind, message: Rendered) -> tuple[str, str, str]:
    if kind is ChannelKind.EMAIL:
        return message.subject, message.html, apprise.NotifyFormat.HTML.value
    if kind in SHORT_KINDS:
        return "", message.short, apprise.NotifyFormat.TEXT.value
    return "", message.text, apprise.NotifyFormat.TEXT.value
