"""Start the single-node service: the lab if needed, the poller and the web server.

Set-up shows its progress (lab generation, agents, services, database) on
stderr; SIGTERM and SIGINT stop everything in order — the web server, the
poller, then the lab's processes — and ``serve`` returns normally, so the
command exits 0 without a traceback. The lab's processes are tied to this one:
even a ``kill -9`` leaves no simulator holding the lab's ports.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
from contextlib import ExitStack
from pathlib import Path

import uvicorn
from rich.console import Console

from common.errors import ConfigError, Problem
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.ports import holder
from store.disk import check_data_dir, unusable
from trucban.output import SetupProgress
from trucban.service import Service, build_service
from trucban.settings import Settings
from trucban.urls import http_hosts, http_url


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived: unwind everything (a BaseException, so no ``except Exception`` eats it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def serve(settings: Settings, console: Console) -> None:
    """Run until SIGTERM/SIGINT; stop the web server, the poller and the lab, then return."""
    # uvicorn catches both signals while it serves, shuts down, then raises them again: the
    # handler turns the first one (during set-up too) into Stopped, which unwinds the stack.
    _stopping.clear()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    try:
        _serve(settings, console)
    except Stopped as stop:
        lab = " và mạng mô phỏng" if settings.inventory is None else ""
        console.print(f"Trực ban đã dừng ({stop}): máy chủ web, bộ thu thập{lab} đã tắt (stopped cleanly).",
                      soft_wrap=True)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL if sig == signal.SIGTERM else signal.default_int_handler)


def _serve(settings: Settings, console: Console) -> None:
    check_data_dir(settings.data_dir)  # a full or read-only data dir: one clear line, no traceback
    with ExitStack() as stack:
        sockets = listen_sockets(settings.http_host, settings.http_port)  # a busy port fails before set-up
        for sock in sockets:
            stack.callback(sock.close)
        with SetupProgress(console) as steps:
            inventory = _inventory(settings, steps, stack)
            with steps.phase("Mở cơ sở dữ liệu, khởi tạo dịch vụ (opening the databases)"):
                service = start_service(settings, inventory)
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


_stopping: list[int] = []


def _stop(signum: int, _frame: object) -> None:
    """The first SIGTERM/SIGINT raises :class:`Stopped`; later ones must not interrupt the unwinding."""
    if not _stopping:
        _stopping.append(signum)
        raise Stopped(signum)


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
        console.print(f"Đăng nhập (log in): [bold]{user}[/bold] / [bold]{password}[/bold]  (lưu tại {note})",
                      soft_wrap=True)


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
            who = holder("tcp", port) if port else None
            held = f" (held by {who})" if who else ""
            why = f"cannot listen on {http_url(host, port)}: {exc.strerror or exc}{held}"
            raise ConfigError([Problem("settings", None, "http_host", value, why)], "web server") from None
        sock.set_inheritable(True)
        out.append(sock)
    return out


def _inventory(settings: Settings, steps: SetupProgress, stack: ExitStack) -> Inventory:
    """The operator's inventory, or the simulated lab, generated and started (stopped by ``stack``)."""
    if settings.inventory is not None:
        with steps.phase("Nạp danh mục thiết bị (loading the inventory)"):
            return load_inventory(Path(settings.inventory))
    if settings.lab == "national":
        return _national_lab(settings, steps, stack)
    from lab.generator import generate_lab
    from lab.runner import LabAgents
    from lab.services import LabServices

    layout = generate_lab(settings.lab_dir, settings.lab_province, settings.lab_port, settings.lab_limit,
                          services=settings.lab_services,
                          progress=steps.task("Tạo mạng mô phỏng (generating the lab)"))
    agents = LabAgents(layout.data_dir, layout.state_dir, layout.cache_dir, port=settings.lab_port, tied=True)
    stack.callback(agents.stop)
    agents.start(progress=steps.task(f"Khởi động agent SNMP trên udp://127.0.0.1:{agents.port} "
                                     "(snmpsim; lần đầu lâu hơn)"))
    if layout.services.exists():
        services = LabServices(layout.services, tied=True)
        stack.callback(services.stop)
        services.start(progress=steps.task("Khởi động máy chủ DNS, router NETCONF, switch SSH mô phỏng"))
    return load_inventory(layout.inventory)


def _national_lab(settings: Settings, steps: SetupProgress, stack: ExitStack) -> Inventory:
    """All 34 provinces (:mod:`lab.national`) answered by :mod:`lab.national_agents` on ``lab_port``."""
    from lab.national import national_lab_inventory
    from lab.national_agents import NationalAgents

    agents = NationalAgents(settings.lab_dir / "state", port=settings.lab_port, tied=True)
    stack.callback(agents.stop)
    with steps.phase(f"Khởi động mạng mô phỏng toàn quốc trên udp://127.0.0.1:{settings.lab_port} "
                     "(national lab)"):
        agents.start()
        return national_lab_inventory(agents.port)
