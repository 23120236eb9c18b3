"""Start the single-node service: the lab if needed, the poller and the web server."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import time
from contextlib import ExitStack
from pathlib import Path

import uvicorn
from rich.console import Console

from common.errors import ConfigError, Problem
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from store.disk import check_data_dir, unusable
from trucban.service import Service, build_service
from trucban.settings import Settings
from trucban.urls import http_hosts, http_url


def serve(settings: Settings, console: Console) -> None:
    """Run until interrupted; stop the lab agents on the way out (SIGTERM included)."""
    # uvicorn re-raises the signal that stopped it once it is done: make SIGTERM unwind the
    # stack (lab agents, sockets) instead of killing the process where it stands.
    signal.signal(signal.SIGTERM, _terminate)
    check_data_dir(settings.data_dir)  # a full or read-only data dir: one clear line, no traceback
    with ExitStack() as stack:
        inventory = _inventory(settings, console, stack)
        service = start_service(settings, inventory)
        sockets = listen_sockets(settings.http_host, settings.http_port)
        for sock in sockets:
            stack.callback(sock.close)
        urls = " ".join(http_url(h, settings.http_port) for h in http_hosts(settings.http_host))
        console.print(f"[bold green]Trực ban[/bold green] đang giám sát {len(inventory.devices)} thiết bị ở "
                      f"{len(inventory.watched_communes)} xã/phường — {urls}")
        if settings.inventory is None:
            demo_admin(service, settings, console)
        # the app decides which forwarded headers to believe (trusted_proxies), uvicorn never does
        server = uvicorn.Server(uvicorn.Config(service.app(), log_level="warning", proxy_headers=False))
        server.run(sockets=sockets)


def start_service(settings: Settings, inventory: Inventory) -> Service:
    """:func:`build_service`, with a full or read-only data directory said in one line."""
    try:
        return build_service(settings, inventory)
    except Exception as exc:
        bad = unusable(exc, settings.data_dir)
        if bad is None:
            raise
        raise bad from None


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def demo_admin(service: Service, settings: Settings, console: Console) -> None:
    """Lab demo only: with no account yet, make an admin with a random password, shown once.

    Never a default password: it is random, printed to this console and kept in
    ``data_dir/demo-admin.txt`` (0600). Real deployments use ``trucban user create-admin``.
    """
    from api.auth.accounts import AccountStore
    from api.auth.roles import Role
    from trucban.web import server_key

    store = AccountStore(service.alerting.engine, server_key(settings))
    note = Path(settings.data_dir) / "demo-admin.txt"
    if not store.list_users():
        password = secrets.token_urlsafe(15)
        store.create_user("admin", password, Role.ADMIN, display_name="Quản trị (demo)")
        note.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"admin {password}\n")
    if note.exists():
        user, password = note.read_text().split()[:2]
        console.print(f"Đăng nhập (log in): [bold]{user}[/bold] / [bold]{password}[/bold]  (lưu tại {note})")


def listen_sockets(value: str, port: int) -> list[socket.socket]:
    """Bound TCP sockets for every address of ``http_host`` (uvicorn serves them all).

    ``::`` listens on IPv6 and IPv4 alike (IPV6_V6ONLY off); a specific IPv6 address
    listens on IPv6 only. A busy or foreign address is a ConfigError naming it.
    """
    out: list[socket.socket] = []
    for host in http_hosts(value):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if host in ("::", "::0") else 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            for other in out:
                other.close()
            raise ConfigError([Problem("settings", None, "http_host", value,
                                       f"cannot listen on {http_url(host, port)}: {exc.strerror or exc}")],
                              "web server") from None
        sock.set_inheritable(True)
        out.append(sock)
    return out


def _inventory(settings: Settings, console: Console, stack: ExitStack) -> Inventory:
    if settings.inventory is not None:
        return load_inventory(Path(settings.inventory))
    from lab.generator import generate_lab
    from lab.runner import LabAgents

    with console.status("Đang tạo mạng mô phỏng (generating the lab)…"):
        layout = generate_lab(settings.lab_dir, settings.lab_province, settings.lab_port,
                              settings.lab_limit)
    agents = LabAgents(layout.data_dir, layout.state_dir, layout.cache_dir, port=settings.lab_port)
    started = time.monotonic()
    with console.status("Đang khởi động các agent SNMP mô phỏng (snmpsim; lần đầu ~30 s)…"):
        agents.start()
    stack.callback(agents.stop)
    console.print(f"Lab: {len(list(layout.data_dir.glob('*.snmprec')))} agent SNMP trên "
                  f"udp://127.0.0.1:{agents.port} ({time.monotonic() - started:.1f} s)")
    return load_inventory(layout.inventory)
