"""Command line: ``trucban run`` (the main job), lab staging, inventory checks, typhoon mode.

Output rules (:mod:`trucban.output`): data on stdout (``--json`` where a
script would want it), messages, progress and logs on stderr; a mistake is
one line and a non-zero exit, never a traceback (``TRUCBAN_DEBUG=1`` shows it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from common.errors import TrucbanError
from store.disk import unusable
from trucban.cli_lab import lab_app
from trucban.cli_storm import storm_app
from trucban.cli_users import user_app
from trucban.output import emit, emit_json, err, fail, out, setup_logging
from trucban.settings import Settings, load_settings

DEBUG_ENV = "TRUCBAN_DEBUG"


class _FriendlyApp(typer.Typer):
    """A Typer app whose unexpected errors end in one line and exit 1 instead of a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except TrucbanError as exc:
            err.print(f"[red]{_escape(str(exc))}[/red]", soft_wrap=True, highlight=False)
            raise SystemExit(2) from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            err.print(f"[red]Lỗi (error): {_escape(_describe(exc))}[/red] — đặt {DEBUG_ENV}=1 để xem "
                      f"chi tiết (set {DEBUG_ENV}=1 for the traceback)", soft_wrap=True, highlight=False)
            raise SystemExit(1) from None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"{type(exc).__name__}: {exc}"


app = _FriendlyApp(help="Trực ban: giám sát mạng TSLCD, DNS và trạm BTS cấp xã.", no_args_is_help=True,
                   pretty_exceptions_enable=False)
inventory_app = typer.Typer(help="Danh mục thiết bị (inventory).", no_args_is_help=True)
app.add_typer(lab_app, name="lab")
app.add_typer(inventory_app, name="inventory")
typhoon_app = typer.Typer(help="Chế độ bão (typhoon mode): công bố, kết thúc, xem.", no_args_is_help=True)
app.add_typer(typhoon_app, name="typhoon")
app.add_typer(storm_app, name="storm")
influx_app = typer.Typer(help="InfluxDB: lưu trữ số liệu (metric store).", no_args_is_help=True)
app.add_typer(influx_app, name="influx")
app.add_typer(user_app, name="user")
console = err  # messages for the person at the terminal (stderr)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="settings YAML file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except TrucbanError as exc:
        fail(str(exc))


def _data_dir_error(exc: Exception, settings: Settings) -> None:
    """A full or read-only data dir found late (lab files, keys): one line, exit 2; else re-raise."""
    bad = unusable(exc, settings.data_dir)
    if bad is None:
        raise exc
    fail(str(bad))


@app.command()
def run(
    config: ConfigOpt = None,
    inventory: Annotated[Path | None, typer.Option(help="inventory YAML; none: simulated lab")] = None,
    host: Annotated[str | None, typer.Option(help="HTTP listen address")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port")] = None,
    interval: Annotated[float | None, typer.Option(help="poll interval, seconds")] = None,
    limit: Annotated[int | None, typer.Option(help="lab: only the first N communes")] = None,
    lab: Annotated[str | None, typer.Option(help="lab: 'province' (snmpsim, lab_province) or 'national' "
                                                 "(all 34 provinces, ~26,800 devices)")] = None,
) -> None:
    """Run Trucban: poll, evaluate, serve the dashboard (lab network when no inventory).

    Progress and logs go to stderr; SIGTERM or Ctrl-C stops everything (the lab too) and exits 0.
    """
    from trucban.runner import serve

    settings = _settings(config, inventory=inventory, http_host=host, http_port=port,
                         poll_interval_s=interval, lab_limit=limit, lab=lab)
    setup_logging(settings.log_level)
    try:
        serve(settings, err)
    except TrucbanError as exc:
        fail(str(exc))
    except Exception as exc:
        _data_dir_error(exc, settings)


InventoriesOpt = Annotated[list[Path] | None, typer.Option("--inventory", help="inventory YAML (repeatable)")]
ClusterOpt = Annotated[str | None, typer.Option("--cluster", help="NATS hub, e.g. nats://127.0.0.1:4222")]
LabOpt = Annotated[str | None, typer.Option(
    "--lab", help="'national': the national lab's inventory (built in memory, ~26,800 devices) instead of "
                  "--inventory; its responder must already run on --lab-port")]
LabPortOpt = Annotated[int | None, typer.Option("--lab-port", help="national lab: the responder's UDP port")]
LabProvinceOpt = Annotated[str | None, typer.Option(
    "--lab-province", help="national lab: one province only (e.g. 31; default every province)")]


def _cluster_main(run: object, settings: Settings, *args: object) -> None:
    """Run a scale-out process; configuration mistakes exit 2 with the message."""
    setup_logging(settings.log_level)
    try:
        run(settings, *args)  # type: ignore[operator]
    except (TrucbanError, ValueError) as exc:
        fail(str(exc))
    except Exception as exc:
        _data_dir_error(exc, settings)


@app.command()
def poller(
    config: ConfigOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoriesOpt = None,
    poller_id: Annotated[str | None, typer.Option("--id", help="poller name (default host-pid)")] = None,
    partitions: Annotated[int | None, typer.Option(help="work partitions (same on every poller)")] = None,
    interval: Annotated[float | None, typer.Option(help="poll interval, seconds")] = None,
    exclude_commune: Annotated[list[str] | None, typer.Option(help="communes an edge post polls")] = None,
    lab: LabOpt = None,
    lab_port: LabPortOpt = None,
    lab_province: LabProvinceOpt = None,
) -> None:
    """Scale-out poller: take partitions by lease on NATS JetStream, poll them, publish the results."""
    from trucban.cluster import run_poller

    settings = _settings(config, cluster_url=cluster, cluster_partitions=partitions, poll_interval_s=interval,
                         lab=lab, lab_port=lab_port)
    _cluster_main(run_poller, settings, inventory or [], poller_id, exclude_commune or [], lab_province)


@app.command()
def ingest(
    config: ConfigOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoriesOpt = None,
    edge: Annotated[list[str] | None, typer.Option(help="edge post to source (repeatable)")] = None,
    lab: LabOpt = None,
    lab_port: LabPortOpt = None,
    lab_province: LabProvinceOpt = None,
) -> None:
    """Central ingest: results stream → metric store → alerting core and notifications."""
    from trucban.cluster import run_ingest

    edges = ",".join(edge) if edge else None
    settings = _settings(config, cluster_url=cluster, cluster_edges=edges, lab=lab, lab_port=lab_port)
    _cluster_main(run_ingest, settings, inventory or [], lab_province)


@app.command("edge")
def edge_post(
    config: ConfigOpt = None,
    post: Annotated[str | None, typer.Option(help="edge post name (letters, digits, - _)")] = None,
    commune: Annotated[list[str] | None, typer.Option(help="commune the post polls (repeatable)")] = None,
    local: Annotated[str | None, typer.Option(help="the post's NATS leaf node URL")] = None,
    inventory: InventoriesOpt = None,
    interval: Annotated[float | None, typer.Option(help="poll interval, seconds")] = None,
    lab: LabOpt = None,
    lab_port: LabPortOpt = None,
    lab_province: LabProvinceOpt = None,
) -> None:
    """Edge command post: poll its communes, alert locally, buffer results for the centre on disk."""
    from trucban.cluster import run_edge

    communes = ",".join(commune) if commune else None
    settings = _settings(config, edge_post=post, edge_communes=communes, edge_nats_url=local,
                         poll_interval_s=interval, lab=lab, lab_port=lab_port)
    _cluster_main(run_edge, settings, inventory or [], lab_province)


@inventory_app.command("check")
def inventory_check(path: Path, as_json: JsonOpt = False) -> None:
    """Validate an inventory; print every problem with file and line (exit 1 if any)."""
    from common.errors import ConfigError
    from inventory.loader import load_inventory

    try:
        inv = load_inventory(path)
    except TrucbanError as exc:
        if as_json:
            problems = [str(p) for p in exc.problems] if isinstance(exc, ConfigError) else [str(exc)]
            emit_json({"ok": False, "problems": problems})
        else:
            err.print(f"[red]{_escape(str(exc))}[/red]", soft_wrap=True, highlight=False)
        raise typer.Exit(1) from None
    counts = {"communes": len(inv.watched_communes), "sites": len(inv.sites), "devices": len(inv.devices),
              "links": len(inv.links)}
    if as_json:
        emit_json({"ok": True, **counts})
    else:
        emit(f"OK: {counts['communes']} communes, {counts['sites']} sites, {counts['devices']} devices, "
             f"{counts['links']} links")


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
        fail("no InfluxDB configured: set influx_url (TRUCBAN_INFLUX_URL)")
    store = open_backend(settings.store)
    assert isinstance(store, InfluxMetricStore)
    try:
        retention = Retention(raw, rollup)
        with err.status("InfluxDB…"):
            lines = list(setup(store, retention))
        for line in lines:
            emit(f"✓ {line}")
    except TrucbanError as exc:
        fail(str(exc), 1)
    finally:
        store.close()


def _notify(config: Path | None):  # type: ignore[no-untyped-def]
    """The notification service on the configured database and inventory (lab when none)."""
    from trucban.notifying import offline_service
    from trucban.service import configured_inventory

    settings = _settings(config)
    try:
        with err.status("Nạp danh mục và cơ sở dữ liệu (loading)…"):
            return offline_service(settings, configured_inventory(settings))
    except TrucbanError as exc:
        fail(str(exc))


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
        fail(str(exc))
    ready = decl.readiness
    out.print(f"[yellow]Bão {decl.name}[/yellow] #{decl.id}: {len(decl.communes)} xã/phường; "
              f"BTS đủ điện/ắc quy {len(ready.get('mains_full', []))}, chạy ắc quy "
              f"{len(ready.get('on_battery', []))}; "
              f"xã thiếu dự phòng {len(ready.get('backup_missing', []))}; "
              f"thiết bị hỏng {len(ready.get('down', []))}. Báo cáo sẵn sàng đã vào hàng đợi gửi.",
              soft_wrap=True)


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
        fail(str(exc))
    emit((decl.summary or {}).get("text", "ended"))


@typhoon_app.command("status")
def typhoon_status(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """The current declaration and the outbox: JSON on stdout (coloured on a terminal; plain with --json)."""
    import json

    service = _notify(config)
    data = {"typhoon": service.typhoon_status(), "outbox": service.outbox.counts()}
    if as_json or not out.is_terminal:
        emit_json(data)
    else:
        out.print_json(json.dumps(data, ensure_ascii=False, default=str))


if __name__ == "__main__":
    app()
