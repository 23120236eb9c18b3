"""The SNMP engine's UDP endpoint reads every waiting answer at one wake-up, on real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from collectors.snmp.fast import make_socket
from collectors.snmp.udp import DrainingEndpoint


class Sink:
    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.errors: list[Exception] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.got.append(data)

    def error_received(self, exc: Exception) -> None:
        self.errors.append(exc)


async def test_a_burst_waiting_in_the_buffer_is_read_in_one_wake_up() -> None:
    sink = Sink()
    endpoint = DrainingEndpoint(make_socket(socket.AF_INET), sink, asyncio.get_running_loop())
    port = endpoint.get_extra_info("sockname")[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent:
        for n in range(2000):  # answers arriving while the loop was busy elsewhere
            agent.sendto(n.to_bytes(4, "big"), ("127.0.0.1", port))
        endpoint._drain()  # one wake-up (asyncio's datagram transport reads one datagram per wake-up)
    assert [int.from_bytes(d, "big") for d in sink.got] == list(range(2000))
    endpoint.close()
    assert endpoint.is_closing()


async def test_sends_go_out_in_order_and_arrive() -> None:
    with make_socket(socket.AF_INET) as agent:  # a receive buffer that holds them all
        agent.setblocking(True)
        agent.settimeout(2)
        endpoint = DrainingEndpoint(make_socket(socket.AF_INET), Sink(), asyncio.get_running_loop())
        for n in range(300):
            endpoint.sendto(n.to_bytes(4, "big"), ("127.0.0.1", agent.getsockname()[1]))
        await asyncio.sleep(0.05)
        got = [int.from_bytes(agent.recvfrom(16)[0], "big") for _ in range(300)]
        endpoint.close()
    assert got == list(range(300))
