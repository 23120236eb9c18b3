"""Channel URLs: whether apprise can use one, how one is shown, and the e-mail one built from SMTP settings.

Every channel URL of the notify file must be one apprise can parse — checked
with a plausible sample target in ``{target}`` when the file loads, so a typo
is a load error naming the field, not a silent failure during a typhoon. A URL
may hold secrets, so it is never shown whole, only ``scheme://***``.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import apprise
from pydantic import SecretStr

from alerting.notify.config import Channel, ChannelKind

# A plausible address per contact field, put in ``{target}`` to check that apprise parses a URL.
SAMPLE_TARGET = {
    "email": "trucban@example.invalid",
    "zalo": "1234567890",
    "phone": "+84901234567",
    "telegram": "123456789",
    "none": "",
}
# Trucban's own apprise plugins: ours (alerting.notify.plugins) and the signed IOC webhook (registered by
# reports.signed_webhook, which may not be imported yet when a CLI command loads the routes): SECRET@host.
CUSTOM_SCHEMES = ("zalooa", "smsgw", "tbhook")


def hidden_url(url: str) -> str:
    """A channel URL as it may be shown in an error: its scheme only, the rest ``***``."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    return f"{scheme[:20]}://***" if scheme.isascii() and scheme.isalnum() else "***"


def url_problem(channel: Channel) -> str | None:
    """Why apprise cannot use this channel's URL (Vietnamese, no secret), or None if it can."""
    from alerting.notify import plugins  # noqa: F401  - registers zalooa:// and smsgw:// with apprise

    template = channel.url.get_secret_value()
    url = template.replace("{target}", SAMPLE_TARGET.get(channel.address_field, "target"))
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not scheme:
        return "URL kênh phải có dạng scheme://… (URL của apprise)"
    if scheme in CUSTOM_SCHEMES:
        try:
            parts = urlsplit(url)
            good = bool(parts.username and parts.hostname) and (parts.port is None or parts.port > 0)
        except ValueError:
            good = False
        if not good:
            return f"URL {scheme}:// phải có dạng {scheme}://MÃ_BÍ_MẬT@máy_chủ[:cổng]/{{target}}"
        return None
    try:
        obj = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    except Exception:  # noqa: BLE001 - whatever the parser trips on, the answer is the same
        obj = None
    if obj is None:
        return (
            "apprise không đọc được URL kênh này: kiểm tra loại kênh, mã bí mật/token và địa chỉ; "
            "ký tự đặc biệt trong mã bí mật phải được mã hoá (%XX)"
        )
    return None


def smtp_channel(
    host: str,
    port: int,
    sender: str,
    *,
    user: str | None = None,
    password: SecretStr | None = None,
    starttls: bool = True,
    verify: bool = True,
    rate_per_minute: float = 120.0,
) -> Channel:
    """An ``email`` channel (apprise mailto/mailtos URL) from plain SMTP settings."""
    auth = ""
    if user:
        secret = password.get_secret_value() if password else ""
        auth = f"{quote(user, safe='')}:{quote(secret, safe='')}@"
    scheme, mode = ("mailtos", "starttls") if starttls else ("mailto", "insecure")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal in a URL
    url = (
        f"{scheme}://{auth}{host}:{port}/?from={quote(sender, safe='@')}&to={{target}}&mode={mode}"
        f"&verify={'yes' if verify else 'no'}"
    )
    return Channel(kind=ChannelKind.EMAIL, url=SecretStr(url), rate_per_minute=rate_per_minute, burst=20)
