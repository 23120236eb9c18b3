"""A small inventory with command-post contacts, a NOC and a BTS power system, for rendering runbooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.inventory import Inventory
from inventory.loader import load_inventory

INVENTORY = """\
province: "31"
communes:
  - code: "11311"
    command_post: Ban Chỉ huy phòng thủ dân sự phường Hồng Bàng
    contacts:
      - {name: Nguyễn Văn A, role: Trực ban, phone: "+84901234567", email: a@example.vn}
      - {name: "Trần <b>B</b>", phone: "+84907654321"}
  - code: "11329"
    contacts: [{name: Lê Thị NOC, role: Trưởng ca NOC, phone: "+84243000000"}]
sites:
  - {id: hq-11311, name: Trụ sở UBND phường Hồng Bàng, kind: commune_hq, commune: "11311"}
  - {id: noc, name: NOC thành phố, kind: noc, commune: "11329"}
devices:
  - {id: agg-01, name: Router tổng hợp, site: noc, role: router, address: 10.31.0.254}
  - {id: r1-11311, name: Router truy nhập, site: hq-11311, role: router, address: 10.31.0.1,
     operator: VNPT, hardening_level: 4, parents: [agg-01]}
  - {id: pwr-11311, name: Nguồn BTS, site: hq-11311, role: power, address: 10.31.0.9, parents: [r1-11311]}
"""


@pytest.fixture(scope="session")
def small_inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """Two communes (one with a NOC site), an access router behind an aggregation router, a power system."""
    path: Path = tmp_path_factory.mktemp("runbook-inv") / "inventory.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    return load_inventory(path)
