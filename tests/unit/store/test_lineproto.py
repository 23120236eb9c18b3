"""Line protocol straight from samples: escaping per the reference, types, what is left out."""

from __future__ import annotations

import pytest

from store.base import Sample, storable
from store.lineproto import LineFormatter, escape_key, escape_measurement, format_field


def test_escaping_follows_the_reference() -> None:
    assert escape_measurement("if traffic,x=1") == r"if\ traffic\,x=1"  # '=' is fine in a measurement
    assert escape_key("a b,c=d") == r"a\ b\,c\=d"
    assert escape_key(r"back\slash") == r"back\slash"  # InfluxDB keeps a lone backslash as it is
    assert escape_key("line\nbreak") == r"line\ break"
    assert format_field('say "hi" \\ bye') == r'"say \"hi\" \\ bye"'
    assert format_field("Phường Hồng Bàng") == '"Phường Hồng Bàng"'


@pytest.mark.parametrize(("value", "text"), [
    (1, "1i"), (-7, "-7i"), (2**63 - 1, "9223372036854775807i"), (0.25, "0.25"), (3.0, "3.0"),
    (1e20, "1e+20"), (True, "true"), (False, "false"),
    (2**63, None), (-(2**63) - 1, None), (float("nan"), None), (float("inf"), None), (float("-inf"), None),
])
def test_field_types(value: object, text: str | None) -> None:
    assert format_field(value) == text  # type: ignore[arg-type]
    assert storable(value) == (text is not None)  # type: ignore[arg-type]


def test_a_subclass_of_int_or_float_is_formatted_as_its_base() -> None:
    class Counter(int):
        pass

    assert format_field(Counter(5)) == "5i"
    with pytest.raises(TypeError):
        format_field([1])  # type: ignore[arg-type]


def test_line_sorts_tags_drops_empty_ones_and_keeps_field_order() -> None:
    fmt = LineFormatter()
    sample = Sample("reachability", {"device": "r1", "commune": "11311", "site": ""},
                    {"up": 1, "latency_ms": 2.5, "error_kind": "timeout"}, 1_700_000_000)
    assert fmt.line(sample) == ('reachability,commune=11311,device=r1 up=1i,latency_ms=2.5,'
                                'error_kind="timeout" 1700000000')
    assert fmt.line(sample) == fmt.lines([sample])[0]  # cached prefix gives the same line


def test_a_sample_with_nothing_storable_is_skipped() -> None:
    fmt = LineFormatter()
    samples = [Sample("m", {"d": "1"}, {"x": float("nan")}, 1), Sample("m", {"d": "2"}, {"x": 1.5}, 2),
               Sample("m", {"d": "3"}, {}, 3)]
    assert fmt.lines(samples) == ["m,d=2 x=1.5 2"]


def test_same_tags_in_another_order_make_the_same_series() -> None:
    fmt = LineFormatter()
    a = fmt.line(Sample("m", {"a": "1", "b": "2"}, {"v": 1}, 5))
    b = fmt.line(Sample("m", {"b": "2", "a": "1"}, {"v": 1}, 5))
    assert a == b == "m,a=1,b=2 v=1i 5"
