"""``trucban storm``: import a forecast, see the exposed communes, confirm typhoon mode.

Tables and results go to stdout (``storm list --json`` for scripts); progress and errors to stderr.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from common.errors import TrucbanError
from common.timefmt import local_time
from trucban.output import emit_json, err, fail, out
from trucban.settings import load_settings

storm_app = typer.Typer(help="Theo dõi đường đi của bão: nhập bản tin, xem xã bị ảnh hưởng, xác nhận.",
                        no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="settings YAML file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def _desk(config: Path | None) -> Any:
    from storm.desk import StormDesk
    from trucban.notifying import offline_core, offline_service
    from trucban.service import configured_inventory

    try:
        with err.status("Nạp danh mục và cơ sở dữ liệu (loading)…"):
            settings = load_settings(config)
            inventory = configured_inventory(settings)
            core = offline_core(settings, inventory)
            notify = offline_service(settings, inventory, core) if settings.notify_enabled else None
    except TrucbanError as exc:
        fail(str(exc))
    return StormDesk(core.engine, inventory, core, notify), ZoneInfo(settings.timezone)


def _show(storm: Any, tz: ZoneInfo) -> None:

    table = Table(title=f"Bão {storm.name} (#{storm.id}, {storm.source}): {len(storm.exposure)} xã/phường "
                        f"bị ảnh hưởng — {storm.status}")
    for column in ("Mã", "Xã/phường", "Dự kiến ảnh hưởng (giờ VN)", "Cấp gió", "Vì sao", "Gần tâm bão"):
        table.add_column(column)
    for e in storm.exposure:
        eta = local_time(e["eta"], tz)
        closest = "" if e["closest_km"] is None else f"{e['closest_km']} km"
        table.add_row(e["code"], e["name"], eta, e["wind_class"], e["via"], closest)
    out.print(table)
    ready = storm.readiness
    out.print(f"Sẵn sàng: BTS đủ điện {len(ready['mains_full'])}, ắc quy thấp {len(ready['mains_low'])}, "
              f"đang chạy ắc quy {len(ready['on_battery'])}, "
              f"chưa có số liệu {len(ready['power_unknown'])}; "
              f"xã có dự phòng {len(ready['backup_ok'])}, thiếu dự phòng {len(ready['backup_missing'])}; "
              f"thiết bị đã hỏng {len(ready['down'])}.", soft_wrap=True)


@storm_app.command("import")
def storm_import(
    path: Path,
    by: Annotated[str, typer.Option(help="who imports (coordinator)")],
    confirm: Annotated[bool, typer.Option(help="declare typhoon mode for the exposed communes now")] = False,
    config: ConfigOpt = None,
) -> None:
    """Import a forecast (GeoJSON, CAP 1.2 XML, IBTrACS CSV) and propose typhoon mode."""
    from storm.model import TrackError

    desk, tz = _desk(config)
    started = time.monotonic()
    try:
        with err.status(f"Đọc bản tin {path.name} (importing)…"):
            storm = desk.import_track(path, by=by)
    except (TrackError, OSError) as exc:
        fail(str(exc))
    _show(storm, tz)
    err.print(f"({time.monotonic() - started:.1f} s)")
    if confirm:
        storm_confirm(storm.id, by=by, config=config)


@storm_app.command("confirm")
def storm_confirm(storm_id: int, by: Annotated[str, typer.Option(help="who confirms")],
                  config: ConfigOpt = None) -> None:
    """Declare typhoon mode for exactly the communes a storm exposes."""
    desk, tz = _desk(config)
    try:
        storm = desk.confirm(storm_id, by=by)
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    out.print(f"[yellow]Đã công bố chế độ bão[/yellow] #{storm.declaration_id} cho {len(storm.communes)} "
                  "xã/phường; báo cáo sẵn sàng đã vào hàng đợi gửi.")


@storm_app.command("list")
def storm_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Recently imported storms (tables, or JSON with --json)."""
    desk, tz = _desk(config)
    storms = desk.recent()
    if as_json:
        emit_json([{"id": s.id, "name": s.name, "source": s.source, "status": s.status,
                    "exposure": s.exposure, "readiness": s.readiness} for s in storms])
        return
    for storm in storms:
        _show(storm, tz)
