"""Start the single-node service: the lab if needed, the poller and the web server."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path

import uvicorn
from rich.console import Console

from inventory.inventory import Inventory
from inventory.loader import load_inventory
from trucban.service import build_service
from trucban.settings import Settings


def serve(settings: Settings, console: Console) -> None:
    """Run until interrupted; stop the lab agents on the way out."""
    with ExitStack() as stack:
        inventory = _inventory(settings, console, stack)
        service = build_service(settings, inventory)
        console.print(f"[bold green]Trực ban[/bold green] đang giám sát {len(inventory.devices)} thiết bị ở "
                      f"{len(inventory.watched_communes)} xã/phường — http://{settings.http_host}:"
                      f"{settings.http_port}/")
        uvicorn.run(service.app(), host=settings.http_host, port=settings.http_port, log_level="warning")


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
