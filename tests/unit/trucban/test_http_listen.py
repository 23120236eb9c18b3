"""The web server listens on every address of ``http_host``: IPv4, IPv6, both, or ``::`` (dual-stack)."""

from __future__ import annotations

import socket

import pytest

from common.errors import ConfigError
from trucban.runner import listen_sockets
from trucban.urls import http_hosts, http_url


def test_http_host_forms() -> None:
    assert http_hosts("127.0.0.1") == ["127.0.0.1"]
    assert http_hosts("127.0.0.1, [::1]") == ["127.0.0.1", "::1"]
    assert http_hosts("::") == ["::"]
    assert http_hosts(" ") == ["127.0.0.1"]
    assert http_url("::1", 8000) == "http://[::1]:8000/" and http_url("127.0.0.1", 80) == "http://127.0.0.1:80/"


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_ipv4_and_ipv6_loopback_both_listen() -> None:
    v4, v6 = listen_sockets("127.0.0.1,::1", 0)
    try:
        assert (v4.family, v6.family) == (socket.AF_INET, socket.AF_INET6)
        for sock in (v4, v6):
            sock.listen()
        assert _connects("127.0.0.1", v4.getsockname()[1]) and _connects("::1", v6.getsockname()[1])
        assert v6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    finally:
        v4.close()
        v6.close()


def test_unspecified_ipv6_is_dual_stack() -> None:
    (sock,) = listen_sockets("::", 0)
    try:
        sock.listen()
        port = sock.getsockname()[1]
        assert _connects("::1", port) and _connects("127.0.0.1", port)
    finally:
        sock.close()


def test_address_not_on_this_machine_is_a_clear_error() -> None:
    with pytest.raises(ConfigError) as info:
        listen_sockets("127.0.0.1,fd00:7b:ffff::99", 0)
    text = str(info.value)
    assert "http_host" in text and "http://[fd00:7b:ffff::99]:0/" in text and "cannot listen" in text
