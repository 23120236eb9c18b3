"""``trucban lab …``: stage outages and states in the running simulated lab, and see them.

Every command works from another shell while ``trucban run`` goes on: staging
writes per-device state files that the SNMP agents and the lab's DNS, NETCONF
and SSH devices re-read. Without a generated lab (``trucban run`` never ran
with these settings) each command says so in one line and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from common.errors import TrucbanError
from trucban.output import emit, emit_json, fail
from trucban.settings import Settings, load_settings

lab_app = typer.Typer(help="Mạng mô phỏng (simulated lab): dàn dựng sự cố, xem trạng thái.",
                      no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="settings YAML file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except TrucbanError as exc:
        fail(str(exc))


def _lab(config: Path | None) -> tuple[Settings, Any]:
    """Settings and the generated lab's inventory; one line and exit 2 when there is no lab yet."""
    from inventory.loader import load_inventory

    settings = _settings(config)
    if settings.lab == "national":  # no files: the national lab's inventory is built in memory
        from lab.national import national_lab_inventory

        return settings, national_lab_inventory(settings.lab_port)
    path = settings.lab_dir / "inventory.yaml"
    if not path.exists():
        fail(f"Chưa có mạng mô phỏng ở {settings.lab_dir}: hãy chạy `trucban run` trước "
             f"(no simulated lab in {settings.lab_dir} yet: start `trucban run` first)")
    try:
        return settings, load_inventory(path)
    except TrucbanError as exc:
        fail(f"Mạng mô phỏng ở {settings.lab_dir} hỏng (the lab's files are broken; delete the folder and "
             f"start `trucban run` again): {exc}")


def _device(inventory: Any, device: str) -> None:
    if device not in inventory.devices:
        fail(f"Không có thiết bị {device!r} trong mạng mô phỏng (unknown lab device {device!r}); "
             "xem `trucban lab status --devices`")


@lab_app.command("stage")
def lab_stage(
    device: str,
    config: ConfigOpt = None,
    silent: Annotated[bool | None, typer.Option("--silent/--answer", help="stop/resume answering")] = None,
    if_down: Annotated[str | None, typer.Option(help="ifIndex list down, e.g. 1,2 ('' = none)")] = None,
    mains: Annotated[bool | None, typer.Option("--mains/--mains-lost", help="mains power state")] = None,
    charge: Annotated[float | None, typer.Option(help="battery charge %% now")] = None,
    drain: Annotated[float | None, typer.Option(help="battery drain %% per minute")] = None,
    zone_serial: Annotated[int | None, typer.Option(help="DNS primary: SOA serial of its zone now")] = None,
    transfer: Annotated[bool | None, typer.Option(
        "--transfer/--no-transfer", help="DNS secondary: copy the zone from the primary")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a lab device's state while the lab runs (another shell is fine)."""
    from lab.runner import stage

    settings, inventory = _lab(config)
    _device(inventory, device)
    changes: dict[str, object] = {}
    for key, value in (("silent", silent), ("mains", mains), ("battery_charge", charge),
                       ("drain_per_min", drain), ("zone_serial", zone_serial), ("transfer", transfer)):
        if value is not None:
            changes[key] = value
    if if_down is not None:
        try:
            changes["if_down"] = [int(x) for x in if_down.split(",") if x.strip()]
        except ValueError:
            fail(f"--if-down {if_down!r}: ifIndex numbers separated by commas, e.g. 1,2")
    state = stage(settings.lab_dir / "state", device, **changes)
    if as_json:
        emit_json({"device": device, "state": state})
    else:
        emit(f"{device}: {state}")


@lab_app.command("outage")
def lab_outage(
    device: str,
    config: ConfigOpt = None,
    restore: Annotated[bool, typer.Option("--restore", help="end the outage instead")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fail a lab device and silence everything behind it (or --restore it)."""
    from lab import outages

    settings, inventory = _lab(config)
    _device(inventory, device)
    action = outages.restore if restore else outages.cut
    affected = action(settings.lab_dir / "state", inventory, device)
    verb = "restored" if restore else "cut"
    if as_json:
        emit_json({"action": verb, "devices": affected})
    else:
        emit(f"{verb}: {', '.join(affected)}")


@lab_app.command("clear")
def lab_clear(device: Annotated[str | None, typer.Argument()] = None, config: ConfigOpt = None) -> None:
    """Return one lab device (or all) to healthy."""
    from lab.runner import clear

    settings, inventory = _lab(config)
    if device is not None:
        _device(inventory, device)
    clear(settings.lab_dir / "state", device)
    emit(f"cleared {device or 'all devices'}")


@lab_app.command("status")
def lab_status(
    config: ConfigOpt = None,
    devices: Annotated[bool, typer.Option("--devices", help="list every device too")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Is the lab running (SNMP agents, DNS/NETCONF/SSH servers on their ports), and what is staged."""
    from lab.ports import tcp_port_free, udp_port_free
    from lab.runner import read_state
    from lab.services import ServicesSpec

    settings, inventory = _lab(config)
    state_dir = settings.lab_dir / "state"
    spec_path = settings.lab_dir / "services.json"
    servers = ServicesSpec.read(spec_path).servers if spec_path.exists() else ()
    data: dict[str, Any] = {
        "lab_dir": str(settings.lab_dir),
        "snmp": {"port": settings.lab_port, "listening": not udp_port_free("127.0.0.1", settings.lab_port)},
        "services": [{"kind": s.kind, "device": s.device, "port": s.port,
                      "listening": not tcp_port_free("127.0.0.1", s.port)} for s in servers],
        "staged": {d: st for d in inventory.devices if (st := read_state(state_dir, d))},
    }
    if devices:
        data["devices"] = [{"id": d.id, "name": d.name, "role": str(d.role),
                            "collectors": [c for c in ("snmp", "netconf", "ssh", "dns") if getattr(d, c)]}
                           for d in inventory.devices.values()]
    if as_json:
        emit_json(data)
        return
    snmp = data["snmp"]
    emit(f"Lab {data['lab_dir']}: SNMP udp/{snmp['port']} {_running(snmp['listening'])}")
    for s in data["services"]:
        emit(f"  {s['kind']:<8} {s['device']:<14} tcp/{s['port']} {_running(s['listening'])}")
    for d in data.get("devices", []):
        emit(f"  {d['id']:<16} {d['role']:<7} {','.join(d['collectors']):<10} {d['name']}")
    emit(f"Dàn dựng (staged): {len(data['staged'])} thiết bị" if data["staged"] else "Không có gì dàn dựng "
         "(nothing staged: every device healthy)")
    for dev, st in data["staged"].items():
        emit(f"  {dev}: {st}")


def _running(listening: bool) -> str:
    return "đang chạy (running)" if listening else "đã dừng (stopped)"
