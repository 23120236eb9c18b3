"""Command line: ``trucban run`` (the main job), lab staging, inventory checks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from common.errors import TrucbanError
from store.disk import unusable
from trucban.cli_storm import storm_app
from trucban.cli_users import user_app
from trucban.settings import Settings, load_settings

app = typer.Typer(help="Trực ban: giám sát mạng TSLCD, DNS và trạm BTS cấp xã.", no_args_is_help=True)
lab_app = typer.Typer(help="Mạng mô phỏng (simulated lab): tạo, dàn dựng sự cố.", no_args_is_help=True)
inventory_app = typer.Typer(help="Danh mục thiết bị (inventory).", no_args_is_help=True)
app.add_typer(lab_app, name="lab")
app.add_typer(inventory_app, name="inventory")
typhoon_app = typer.Typer(help="Chế độ bão (typhoon mode): công bố, kết thúc, xem.", no_args_is_help=True)
app.add_typer(typhoon_app, name="typhoon")
app.add_typer(storm_app, name="storm")
influx_app = typer.Typer(help="InfluxDB: lưu trữ số liệu (metric store).", no_args_is_help=True)
app.add_typer(influx_app, name="influx")
app.add_typer(user_app, name="user")
console = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="settings YAML file")]


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except TrucbanError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command()
def run(
    config: ConfigOpt = None,
    inventory: Annotated[Path | None, typer.Option(help="inventory YAML; none: simulated lab")] = None,
    host: Annotated[str | None, typer.Option(help="HTTP listen address")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port")] = None,
    interval: Annotated[float | None, typer.Option(help="poll interval, seconds")] = None,
    limit: Annotated[int | None, typer.Option(help="lab: only the first N communes")] = None,
) -> None:
    """Run Trucban: poll, evaluate, serve the dashboard (lab network when no inventory)."""
    from trucban.runner import serve

    settings = _settings(config, inventory=inventory, http_host=host, http_port=port,
                         poll_interval_s=interval, lab_limit=limit)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise
    try:
        serve(settings, console)
    except TrucbanError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # a full or read-only data dir found late (lab files, keys): one line too
        bad = unusable(exc, settings.data_dir)
        if bad is None:
            raise
        console.print(f"[red]{escape(str(bad))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None


InventoriesOpt = Annotated[list[Path] | None, typer.Option("--inventory", help="inventory YAML (repeatable)")]
ClusterOpt = Annotated[str | None, typer.Option("--cluster", help="NATS hub, e.g. nats://127.0.0.1:4222")]


def _cluster_main(run: object, settings: Settings, *args: object) -> None:
    """Run a scale-out process; configuration mistakes exit 2 with the message."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise
    try:
        run(settings, *args)  # type: ignore[operator]
    except (TrucbanError, ValueError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # a full or read-only data dir: one line, no traceback
        bad = unusable(exc, settings.data_dir)
        if bad is None:
            raise
        console.print(f"[red]{escape(str(bad))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None


@app.command()
def poller(
    config: ConfigOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoriesOpt = None,
    poller_id: Annotated[str | None, typer.Option("--id", help="poller name (default host-pid)")] = None,
    partitions: Annotated[int | None, typer.Option(help="work partitions (same on every poller)")] = None,
    interval: Annotated[float | None, typer.Option(help="poll interval, seconds")] = None,
    exclude_commune: Annotated[list[str] | None, typer.Option(help="communes an edge post polls")] = None,
) -> None:
    """Scale-out poller: take partitions by lease on NATS JetStream, poll them, publish the results."""
    from trucban.cluster import run_poller

    settings = _settings(config, cluster_url=cluster, cluster_partitions=partitions, poll_interval_s=interval)
    _cluster_main(run_poller, settings, inventory or [], poller_id, exclude_commune or [])


@app.command()
def ingest(
    config: ConfigOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoriesOpt = None,
    edge: Annotated[list[str] | None, typer.Option(help="edge post to source (repeatable)")] = None,
) -> None:
    """Central ingest: results stream → metric store → alerting core and notifications."""
    from trucban.cluster import run_ingest

    edges = ",".join(edge) if edge else None
    settings = _settings(config, cluster_url=cluster, cluster_edges=edges)
    _cluster_main(run_ingest, settings, inventory or [])


@app.command("edge")
def edge_post(
    config: ConfigOpt = None,
    post: Annotated[str | None, typer.Option(help="edge post name (letters, digits, - _)")] = None,
    commune: Annotated[list[str] | None, typer.Option(help="commune the post polls (repeatable)")] = None,
    local: Annotated[str | None, typer.Option(help="the post's NATS leaf node URL")] = None,
    inventory: InventoriesOpt = None,
    interval: Annotated[float | None, typer.Option(help="poll interval, seconds")] = None,
) -> None:
    """Edge command post: poll its communes, alert locally, buffer results for the centre on disk."""
    from trucban.cluster import run_edge

    communes = ",".join(commune) if commune else None
    settings = _settings(config, edge_post=post, edge_communes=communes, edge_nats_url=local,
                         poll_interval_s=interval)
    _cluster_main(run_edge, settings, inventory or [])


@inventory_app.command("check")
def inventory_check(path: Path) -> None:
    """Validate an inventory; print every problem with file and line."""
    from inventory.loader import load_inventory

    try:
        inv = load_inventory(path)
    except TrucbanError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]OK[/green]: {len(inv.watched_communes)} communes, {len(inv.sites)} sites, "
                  f"{len(inv.devices)} devices, {len(inv.links)} links")


@influx_app.command("setup")
def influx_setup(
    config: ConfigOpt = None,
    raw: Annotated[str, typer.Option(help="keep raw samples this long (30d, 8w, INF)")] = "30d",
    rollup: Annotated[str, typer.Option(help="keep hourly rollups this long")] = "730d",
) -> None:
    """Create the database/buckets, retention and downsampling on the configured InfluxDB."""
    from store.factory import open_backend
    from store.influx import InfluxMetricStore
    from store.influx_setup import Retention, setup

    settings = _settings(config)
    if not settings.influx_url:
        console.print("[red]no InfluxDB configured: set influx_url (TRUCBAN_INFLUX_URL)[/red]")
        raise typer.Exit(2)
    store = open_backend(settings.store)
    assert isinstance(store, InfluxMetricStore)
    try:
        retention = Retention(raw, rollup)
        for line in setup(store, retention):
            console.print(f"[green]✓[/green] {line}")
    except TrucbanError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        store.close()


@lab_app.command("stage")
def lab_stage(
    device: str,
    config: ConfigOpt = None,
    silent: Annotated[bool | None, typer.Option("--silent/--answer", help="stop/resume answering")] = None,
    if_down: Annotated[str | None, typer.Option(help="ifIndex list down, e.g. 1,2 ('' = none)")] = None,
    mains: Annotated[bool | None, typer.Option("--mains/--mains-lost", help="mains power state")] = None,
    charge: Annotated[float | None, typer.Option(help="battery charge %% now")] = None,
    drain: Annotated[float | None, typer.Option(help="battery drain %% per minute")] = None,
) -> None:
    """Change a lab device's state while the lab runs (another shell is fine)."""
    from lab.runner import stage

    settings = _settings(config)
    changes: dict[str, object] = {}
    if silent is not None:
        changes["silent"] = silent
    if if_down is not None:
        changes["if_down"] = [int(x) for x in if_down.split(",") if x.strip()]
    if mains is not None:
        changes["mains"] = mains
    if charge is not None:
        changes["battery_charge"] = charge
    if drain is not None:
        changes["drain_per_min"] = drain
    state = stage(settings.lab_dir / "state", device, **changes)
    console.print(f"{device}: {state}")


@lab_app.command("outage")
def lab_outage(
    device: str,
    config: ConfigOpt = None,
    restore: Annotated[bool, typer.Option("--restore", help="end the outage instead")] = False,
) -> None:
    """Fail a lab device and silence everything behind it (or --restore it)."""
    from inventory.loader import load_inventory
    from lab import outages

    settings = _settings(config)
    inventory = load_inventory(settings.lab_dir / "inventory.yaml")
    if device not in inventory.devices:
        console.print(f"[red]unknown lab device {device!r}[/red]")
        raise typer.Exit(2)
    action = outages.restore if restore else outages.cut
    affected = action(settings.lab_dir / "state", inventory, device)
    verb = "restored" if restore else "cut"
    console.print(f"{verb}: {', '.join(affected)}")


@lab_app.command("clear")
def lab_clear(device: Annotated[str | None, typer.Argument()] = None, config: ConfigOpt = None) -> None:
    """Return one lab device (or all) to healthy."""
    from lab.runner import clear

    clear(_settings(config).lab_dir / "state", device)
    console.print(f"cleared {device or 'all devices'}")



def _notify(config: Path | None):  # type: ignore[no-untyped-def]
    """The notification service on the configured database and inventory (lab when none)."""
    from trucban.notifying import offline_service
    from trucban.service import configured_inventory

    settings = _settings(config)
    try:
        return offline_service(settings, configured_inventory(settings))
    except TrucbanError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@typhoon_app.command("declare")
def typhoon_declare(
    name: str,
    by: Annotated[str, typer.Option(help="who declares (coordinator)")],
    communes: Annotated[str | None, typer.Option(help="commune codes, comma separated")] = None,
    province: Annotated[str | None, typer.Option(help="or a whole province code, e.g. 31")] = None,
    hours: Annotated[float, typer.Option(help="window length, hours")] = 24.0,
    start_in: Annotated[float, typer.Option(help="window starts in N hours (0 = now)")] = 0.0,
    digest_minutes: Annotated[int | None, typer.Option(help="digest to coordinators every N minutes")] = None,
    config: ConfigOpt = None,
) -> None:
    """Declare a typhoon: readiness report now, tighter polling and digests during the window."""
    import time

    from alerting.notify.typhoon import TyphoonError

    service = _notify(config)
    start = int(time.time() + start_in * 3600)
    try:
        decl = service.declare_typhoon(
            name, by=by, starts_at=start, ends_at=int(start + hours * 3600), province=province,
            communes=[c.strip() for c in communes.split(",") if c.strip()] if communes else None,
            digest_every_s=digest_minutes * 60 if digest_minutes else None)
    except TyphoonError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    ready = decl.readiness
    console.print(f"[yellow]Bão {decl.name}[/yellow] #{decl.id}: {len(decl.communes)} xã/phường; "
                  f"BTS đủ điện/ắc quy {len(ready.get('mains_full', []))}, chạy ắc quy "
                  f"{len(ready.get('on_battery', []))}; "
                  f"xã thiếu dự phòng {len(ready.get('backup_missing', []))}; "
                  f"thiết bị hỏng {len(ready.get('down', []))}. Báo cáo sẵn sàng đã vào hàng đợi gửi.")


@typhoon_app.command("end")
def typhoon_end(
    by: Annotated[str, typer.Option(help="who ends it")],
    config: ConfigOpt = None,
) -> None:
    """End the typhoon: the recovery summary goes to the coordinators."""
    from alerting.notify.typhoon import TyphoonError

    try:
        decl = _notify(config).end_typhoon(by=by)
    except TyphoonError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print((decl.summary or {}).get("text", "ended"))


@typhoon_app.command("status")
def typhoon_status(config: ConfigOpt = None) -> None:
    """Show the current declaration and the outbox."""
    import json

    service = _notify(config)
    console.print_json(json.dumps({"typhoon": service.typhoon_status(), "outbox": service.outbox.counts()},
                                  ensure_ascii=False, default=str))


if __name__ == "__main__":
    app()
