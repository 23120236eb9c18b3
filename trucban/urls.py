"""The web server's addresses as people and links see them (no other part of the root needed)."""

from __future__ import annotations


def http_hosts(value: str) -> list[str]:
    """The addresses ``http_host`` names: ``"127.0.0.1"``, ``"::"`` (IPv6 and IPv4) or ``"127.0.0.1,::1"``."""
    hosts = [h.strip().removeprefix("[").removesuffix("]") for h in value.replace(" ", ",").split(",")]
    return [h for h in hosts if h] or ["127.0.0.1"]


def http_url(host: str, port: int) -> str:
    """``http://host:port/`` with IPv6 literals in brackets."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
