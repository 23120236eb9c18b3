"""A BTS site's state from the BTS device, its power system, or both — every row of the decision table."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from alerting.bts_status import BtsState, PowerReading, SiteBts, on_battery, site_bts_status, worst
from alerting.states import Status

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = 1_790_000_000  # 2026-09-21 21:13:20 +07
MAINS = {"output_source": 3, "seconds_on_battery": 0, "charge_pct": 100.0}
BATTERY = {"output_source": 5, "seconds_on_battery": 600, "charge_pct": 62.0, "minutes_remaining": 95}


def power(status: Status, fields: dict | None = MAINS, ts: int = T0, **kw: object) -> PowerReading:
    return PowerReading("pwr", status, fields, ts, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"output_source": 5}, True),
        ({"output_source": 3, "seconds_on_battery": 12}, True),
        ({"output_source": 3, "seconds_on_battery": 0}, False),
        ({"output_source": 3, "seconds_on_battery": "n/a"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_on_battery_reads_output_source_or_time_on_battery(fields: dict | None, expected: bool) -> None:
    assert on_battery(fields) is expected


def test_no_bts_and_no_power_system_is_none() -> None:
    assert site_bts_status([], [], T0).state is BtsState.NONE


def test_power_only_site_on_mains_is_up() -> None:
    site = site_bts_status([], [power(Status.UP)], T0)
    assert site.state is BtsState.UP and site.charge_pct == 100.0 and not site.last_known


def test_power_only_site_on_battery_is_battery_with_minutes() -> None:
    site = site_bts_status([], [power(Status.UP, BATTERY)], T0)
    assert site.state is BtsState.BATTERY and site.minutes_left == 95 and site.charge_pct == 62.0
    assert not site.last_known and site.label(TZ) == "Đang chạy ắc quy, còn khoảng 95 phút"


def test_incident_projection_wins_over_the_ups_estimate() -> None:
    site = site_bts_status([], [power(Status.UP, BATTERY, minutes_left=47.4, incident_open=True)], T0)
    assert site.minutes_left == 47.4


@pytest.mark.parametrize("status", [Status.DOWN, Status.UNREACHABLE, Status.UNKNOWN])
def test_unobservable_power_on_battery_stays_battery_as_last_known(status: Status) -> None:
    site = site_bts_status([], [power(status, BATTERY)], T0 + 10 * 60)
    assert site.state is BtsState.BATTERY and site.last_known and site.observed_at == T0
    assert site.minutes_left == pytest.approx(85)  # 95 at the reading, counting down since
    assert site.label(TZ) == (
        "Đang chạy ắc quy (lần cuối lúc 21:13), còn khoảng 85 phút (ước tính lúc 21:13)"
    )


def test_last_known_projection_counts_down_from_when_it_was_made() -> None:
    dark = power(Status.DOWN, BATTERY, minutes_left=50.0, minutes_since=T0 + 300, incident_open=True)
    assert site_bts_status([], [dark], T0 + 600).minutes_left == pytest.approx(45)


def test_last_known_battery_from_an_open_incident_without_reading() -> None:
    site = site_bts_status([], [power(Status.UNREACHABLE, None, incident_open=True)], T0)
    assert site.state is BtsState.BATTERY and site.last_known


def test_last_known_runtime_spent_says_battery_may_be_empty() -> None:
    site = site_bts_status([], [power(Status.DOWN, BATTERY)], T0 + 120 * 60)
    assert site.minutes_left == 0
    assert site.label(TZ) == (
        "Đang chạy ắc quy (lần cuối lúc 21:13), có thể đã cạn ắc quy (ước tính lúc 21:13)"
    )


def test_power_only_site_whose_power_system_is_down_on_mains_is_down() -> None:
    site = site_bts_status([], [power(Status.DOWN)], T0)
    assert site.state is BtsState.DOWN and site.label(TZ) == "Nguồn BTS mất kết nối"


def test_power_only_site_cut_off_is_unreachable_not_up() -> None:
    site = site_bts_status([], [power(Status.UNREACHABLE)], T0)
    assert site.state is BtsState.UNREACHABLE
    assert site.label(TZ) == "Không liên lạc được (do thiết bị phía trên)"


def test_never_observed_is_unknown() -> None:
    assert site_bts_status([], [power(Status.UNKNOWN, None)], T0).state is BtsState.UNKNOWN
    assert site_bts_status([Status.UNKNOWN], [], T0).label(TZ) == "Chưa rõ / chưa có số liệu"


@pytest.mark.parametrize(
    ("bts", "expected"),
    [
        ([Status.UP], BtsState.UP),
        ([Status.DEGRADED], BtsState.UP),
        ([Status.DOWN], BtsState.DOWN),
        ([Status.UP, Status.DOWN], BtsState.DOWN),
        ([Status.UNREACHABLE], BtsState.UNREACHABLE),
        ([Status.MAINTENANCE], BtsState.MAINTENANCE),
        ([Status.UNKNOWN], BtsState.UNKNOWN),
    ],
)
def test_bts_device_alone(bts: list[Status], expected: BtsState) -> None:
    assert site_bts_status(bts, [], T0).state is expected


def test_bts_with_power_on_battery_is_battery() -> None:
    assert site_bts_status([Status.UP], [power(Status.UP, BATTERY)], T0).state is BtsState.BATTERY


def test_bts_down_beats_battery_but_keeps_the_runtime() -> None:
    site = site_bts_status([Status.DOWN], [power(Status.UP, BATTERY)], T0)
    assert site.state is BtsState.DOWN and site.minutes_left == 95 and site.label(TZ) == "BTS mất kết nối"


def test_bts_answers_while_its_power_system_is_dark_keeps_last_known_battery() -> None:
    site = site_bts_status([Status.UP], [power(Status.DOWN, BATTERY)], T0)
    assert site.state is BtsState.BATTERY and site.last_known


def test_bts_device_decides_up_down_when_power_is_on_mains() -> None:
    assert site_bts_status([Status.UNREACHABLE], [power(Status.UP)], T0).state is BtsState.UNREACHABLE
    assert site_bts_status([Status.UP], [power(Status.DOWN)], T0).state is BtsState.UP


def test_worst_of_several_sites() -> None:
    up, none = SiteBts(BtsState.UP), SiteBts(BtsState.NONE)
    battery = SiteBts(BtsState.BATTERY, minutes_left=30.0)
    other = SiteBts(BtsState.BATTERY, minutes_left=12.0)
    down = SiteBts(BtsState.DOWN)
    assert worst([]) == none
    assert worst([up, battery, other]) == other
    assert worst([up, battery, down]).state is BtsState.DOWN
    assert worst([none, up]).state is BtsState.UP
