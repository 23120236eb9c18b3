"""The shipped commune reference data has the 2025 counts."""

from inventory.model import CommuneKind
from inventory.reference import load_reference


def test_counts_pinned() -> None:
    ref = load_reference()
    assert len(ref.provinces) == 34
    assert len(ref.communes) == 3321
    assert len(ref.in_province("31")) == 114  # Hải Phòng
    assert len(ref.in_province("01")) == 126  # Hà Nội
    assert ref.provinces["31"] == "Thành phố Hải Phòng"


def test_codes_and_kinds_are_sane() -> None:
    ref = load_reference()
    assert all(len(code) == 5 and code.isdigit() for code in ref.communes)
    kinds = {c.kind for c in ref.communes.values()}
    assert kinds == {CommuneKind.XA, CommuneKind.PHUONG, CommuneKind.DAC_KHU}
    for c in ref.communes.values():
        assert 8 < c.lat < 24 and 102 < c.lon < 118, c
