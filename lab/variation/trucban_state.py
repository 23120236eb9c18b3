"""snmpsim variation module: per-device live state for the Trucban lab.

Why: the lab must stage outages (a silent agent, a downed interface, a site on
battery) while snmpsim keeps running, without one agent's state leaking into
another's. Every record written by ``lab/snmpdata.py`` goes through this module
as ``<oid>|<type>:trucban_state|<kind>[:<args>]``; the module looks up the
device's state in ``<state_dir>/<community>.json`` (community = data file stem)
and computes the value for "now".

snmpsim loads this file with ``exec`` (not ``import``) from
``--variation-modules-dir`` and calls ``init``/``variate``/``shutdown``. Options
come from ``--variation-module-options=trucban_state:state_dir=/abs/path``
(comma-separated ``key=value`` pairs after the first colon). The file is also
importable as a plain module so the runner and tests share the same formulas.

Record kinds (``value`` field after the tag):

- ``str:<text>``                  constant OCTET STRING (UTF-8 text)
- ``int:<n>``                     constant INTEGER / Gauge32
- ``hex:<hexdigits>``             constant OCTET STRING given as hex (MAC addresses)
- ``oid:<dotted>``                constant OBJECT IDENTIFIER
- ``uptime:<base_s>``             sysUpTime; device was up ``base_s`` at lab start
- ``oper:<ifIndex>``              ifOperStatus: 2 if ifIndex in ``if_down`` else 1
- ``lastchange:<ifIndex>``        ifLastChange (TimeTicks since boot)
- ``ctr:<ifIndex>:<init>:<rate>:<bits>``  counter growing ``rate``/s, frozen
  while the interface is down, reset by a reboot, wrapping at 2**bits; a staged
  ``wrap_at`` (epoch s) makes the 32-bit ones read 0 then, so tests see a wrap
- ``wave:<base>:<amplitude>:<period_s>``  gauge moving around ``base`` (CPU, temperature)
- ``ups:<field>[:<arg>]``         UPS-MIB values derived from mains/battery state
- ``end``                         last record of every file (OID 1.4294967295):
  never shown, but makes a silent device drop requests for OIDs past its data
"""

from __future__ import annotations

import json
import math
import os
import time
from functools import lru_cache
from typing import Any

try:  # only present inside snmpsim; plain imports (tests, runner) do not need it
    from snmpsim.error import NoDataNotification
except ImportError:  # pragma: no cover - snmpsim is a lab/dev dependency

    class NoDataNotification(Exception):  # type: ignore[no-redef]
        """Stand-in so the formulas stay importable without snmpsim."""


END_KIND = "end"
DEFAULT_DRAIN_PER_MIN = 1.0
DEFAULT_RECHARGE_PER_MIN = 0.5
STATE_KEYS = frozenset(
    {
        "silent",
        "if_down",
        "mains",
        "battery_charge",
        "drain_per_min",
        "since",
        "rebooted_at",
        "input_line_bads",
        "wrap_at",
        "zone_serial",  # DNS primary (lab/dns_server.py): SOA serial of its zone
        "transfer",  # DNS secondary: False stops zone transfers, so its serial lags
    }
)

_settings: dict[str, Any] = {"state_dir": None, "t0": time.time()}
_cache: dict[str, tuple[tuple[int, int, int] | None, dict[str, Any]]] = {}


# ---------------------------------------------------------------- snmpsim API


def init(**context: Any) -> None:
    """Parse ``state_dir=...`` from the module options and start the lab clock."""
    options = context.get("options") or ""
    for pair in options.split(","):
        key, _, value = pair.partition("=")
        if key.strip():
            _settings[key.strip()] = value.strip()
    if not _settings.get("state_dir"):
        _settings["state_dir"] = os.environ.get("TRUCBAN_LAB_STATE_DIR")
    _settings["t0"] = time.time()
    _cache.clear()


def variate(oid: Any, tag: str, value: str, **context: Any) -> tuple[Any, str, Any]:
    """Return the value of one record for the device's current state.

    Raises ``NoDataNotification`` for a ``silent`` device: the patched
    responder (``lab/snmpsim_main.py``) then drops the request, so the manager
    sees a timeout.
    """
    state = device_state(community_of(context.get("dataFile", "")))
    if state.get("silent"):
        raise NoDataNotification()
    if context.get("setFlag") or (not context.get("nextFlag") and not context.get("exactMatch")):
        return context["origOid"], tag, context["errorStatus"]
    if value == END_KIND:  # sentinel: invisible, it only makes silence cover every OID
        return end_of_view(oid, tag, context)
    return oid, tag, compute(value, state, time.time())


def end_of_view(oid: Any, tag: str, context: dict[str, Any]) -> tuple[Any, str, Any]:
    """Answer for the sentinel record as if the data file ended before it.

    snmpsim moves past a record whose value is endOfMibView on GETNEXT/GETBULK;
    a GET of the sentinel itself gets the usual noSuchInstance.
    """
    from pysnmp.smi import exval

    if context.get("nextFlag"):
        return oid, tag, exval.endOfMib
    return context["origOid"], tag, context["errorStatus"]


def shutdown(**context: Any) -> None:
    """Drop cached state; nothing else to release."""
    _cache.clear()


# ---------------------------------------------------------------- state files


def community_of(data_file: str) -> str:
    """Community (device id) of a data file: its name without ``.snmprec``."""
    name = os.path.basename(data_file)
    for ext in (".snmprec.bz2", ".snmprec"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def device_state(community: str) -> dict[str, Any]:
    """State of one device, re-read only when its JSON file changes.

    A missing or unreadable file means a healthy device (empty dict).
    """
    state_dir = _settings.get("state_dir")
    if not state_dir or not community:
        return {}
    path = os.path.join(state_dir, community + ".json")
    try:
        st = os.stat(path)
        key: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_ino, st.st_size)
    except OSError:
        key = None
    cached = _cache.get(community)
    if cached is not None and cached[0] == key:
        return cached[1]
    state = _load(path) if key is not None else {}
    _cache[community] = (key, state)
    return state


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- formulas


@lru_cache(maxsize=65536)
def parse_kind(value: str) -> tuple[str, tuple[str, ...]]:
    """Split ``kind:a:b`` into ``("kind", ("a", "b"))``; ``str``/``oid`` keep one arg."""
    kind, _, rest = value.partition(":")
    if kind in ("str", "oid", "int", "hex"):
        return kind, (rest,)
    return kind, tuple(rest.split(":")) if rest else ()


def compute(value: str, state: dict[str, Any], now: float) -> Any:
    """Compute a record's value from its kind/args, the device state and ``now``."""
    kind, args = parse_kind(value)
    if kind == "str":
        return args[0].encode("iso-8859-1")  # snmpsim decoded the UTF-8 bytes as latin-1
    if kind == "int":
        return int(args[0])
    if kind == "hex":
        return bytes.fromhex(args[0])
    if kind == "oid":
        return args[0]
    if kind == "uptime":
        return int(uptime_seconds(state, now, float(args[0])) * 100) % 2**32
    if kind == "oper":
        return 2 if int(args[0]) in if_down(state) else 1
    if kind == "lastchange":
        return last_change_ticks(state, now, int(args[0]))
    if kind == "ctr":
        return counter(state, now, int(args[0]), float(args[1]), float(args[2]), int(args[3]))
    if kind == "ups":
        return ups_value(state, now, args[0], args[1:])
    if kind == "wave":
        return wave(now, int(args[0]), int(args[1]), float(args[2]))
    raise ValueError(f"trucban_state: unknown record kind {kind!r}")


def lab_t0() -> float:
    """Epoch seconds when this lab process started (the default ``since``)."""
    return float(_settings["t0"])


def if_down(state: dict[str, Any]) -> set[int]:
    """ifIndexes staged as operationally down."""
    return {int(i) for i in state.get("if_down") or ()}


def boot_time(state: dict[str, Any], base_uptime: float) -> float:
    """Epoch seconds when the device last booted."""
    rebooted = state.get("rebooted_at")
    if rebooted is not None:
        return float(rebooted)
    return lab_t0() - base_uptime


def uptime_seconds(state: dict[str, Any], now: float, base_uptime: float) -> float:
    """Seconds since the device booted (never negative)."""
    return max(0.0, now - boot_time(state, base_uptime))


def last_change_ticks(state: dict[str, Any], now: float, if_index: int) -> int:
    """ifLastChange: sysUpTime ticks when the interface went down, 0 otherwise."""
    if if_index not in if_down(state):
        return 0
    since = float(state.get("since", lab_t0()))
    return int(max(0.0, since - boot_time(state, 0.0)) * 100) % 2**32


def counter(
    state: dict[str, Any], now: float, if_index: int, init: float, rate: float, bits: int
) -> int:
    """A counter that grows ``rate`` per second from lab start (or reboot).

    It stops growing while its interface is down (from ``since``), so it stays
    monotonic: when the interface comes back it resumes at the full value.
    """
    start = lab_t0()
    if state.get("rebooted_at") is not None:
        start = max(start, float(state["rebooted_at"]))
        init = 0.0
    end = now
    if if_index and if_index in if_down(state):
        end = min(now, float(state.get("since", now)))
    if bits == 32 and state.get("wrap_at") is not None:
        # staged: the 32-bit counters read 0 at ``wrap_at`` (so they wrap then)
        return int(rate * (end - float(state["wrap_at"]))) % 2**32
    return int(init + rate * max(0.0, end - start)) % 2**bits


def wave(now: float, base: int, amplitude: int, period_s: float) -> int:
    """A gauge moving smoothly around ``base`` (CPU load, temperature, fan speed)."""
    return max(0, int(round(base + amplitude * math.sin(2 * math.pi * now / period_s))))


def on_mains(state: dict[str, Any]) -> bool:
    """True while the site has mains power (the default)."""
    return bool(state.get("mains", True))


def battery_charge(state: dict[str, Any], now: float) -> float:
    """Battery charge in percent at ``now``.

    On battery it falls by ``drain_per_min`` from ``battery_charge`` at
    ``since``; on mains it recharges slowly up to 100.
    """
    charge = float(state.get("battery_charge", 100.0))
    minutes = max(0.0, now - float(state.get("since", now))) / 60.0
    if on_mains(state):
        return min(100.0, charge + DEFAULT_RECHARGE_PER_MIN * minutes)
    return max(0.0, charge - drain_per_min(state) * minutes)


def drain_per_min(state: dict[str, Any]) -> float:
    """Battery drain in percent per minute while on battery."""
    return float(state.get("drain_per_min", DEFAULT_DRAIN_PER_MIN)) or DEFAULT_DRAIN_PER_MIN


def minutes_remaining(state: dict[str, Any], now: float) -> int:
    """upsEstimatedMinutesRemaining derived from the charge and drain rate."""
    return int(battery_charge(state, now) / drain_per_min(state))


def battery_status(state: dict[str, Any], now: float) -> int:
    """upsBatteryStatus: normal(2), low(3) under 20 %/10 min, depleted(4) at 0."""
    charge = battery_charge(state, now)
    if charge <= 0.0:
        return 4
    if charge < 20.0 or minutes_remaining(state, now) < 10:
        return 3
    return 2


def output_source(state: dict[str, Any], now: float) -> int:
    """upsOutputSource: normal(3) on mains, battery(5), none(2) when depleted."""
    if on_mains(state):
        return 3
    return 5 if battery_charge(state, now) > 0.0 else 2


def ups_value(state: dict[str, Any], now: float, field: str, args: tuple[str, ...]) -> int:
    """Value of one UPS-MIB object; ``args`` carry per-device constants."""
    mains = on_mains(state)
    charge = battery_charge(state, now)
    if field == "status":
        return battery_status(state, now)
    if field == "seconds_on_battery":
        return 0 if mains else int(max(0.0, now - float(state.get("since", now))))
    if field == "minutes":
        return minutes_remaining(state, now)
    if field == "charge":
        return int(round(charge))
    if field == "voltage":  # 0.1 V DC, 48 V plant: float 54.0 V, 44-52 V on battery
        return 540 if mains else int(440 + 0.8 * charge)
    if field == "temperature":
        return int(args[0]) if args else 25
    if field == "line_bads":
        return int(args[0] if args else 0) + int(state.get("input_line_bads", 0))
    if field == "in_frequency":  # 0.1 Hz
        return 500 if mains else 0
    if field == "in_voltage":  # RMS volts
        return (int(args[0]) if args else 220) if mains else 0
    if field == "output_source":
        return output_source(state, now)
    raise ValueError(f"trucban_state: unknown UPS field {field!r}")
