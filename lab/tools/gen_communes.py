"""Regenerate ``inventory/data/communes.csv`` from the ``vietnamadminunits`` package.

Development-time only (``pip install -e .[refdata]``): the runtime reads the
shipped CSV and needs no GPL or heavy dependency. Rows are keyed on the official
unit codes (province and commune), never on names, whose spelling differs
between sources.

    python -m lab.tools.gen_communes
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import vietnamadminunits

OUT = Path(__file__).resolve().parents[2] / "inventory" / "data" / "communes.csv"
KINDS = {"Xã": "xa", "Phường": "phuong", "Đặc khu": "dac_khu"}


def main() -> None:
    """Write one row per commune-level unit (2025 two-level structure)."""
    db = Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT DISTINCT provinceCode, province, wardCode, ward, wardType, wardLat, wardLon,"
            " wardAreaKm2 FROM admin_units ORDER BY provinceCode, wardCode"
        ).fetchall()
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["province_code", "province_name", "code", "name", "kind", "lat", "lon", "area_km2"])
        for pcode, pname, code, name, wtype, lat, lon, area in rows:
            out.writerow([pcode, pname, code, name, KINDS[wtype], lat, lon, area])
    print(f"wrote {len(rows)} communes to {OUT}")


if __name__ == "__main__":
    main()
