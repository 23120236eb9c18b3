"""Per-vendor NETCONF filters, held as YAML data (``vendors/*.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from common.errors import ConfigError, Problem
from inventory.sources import read_yaml_models

Decoder = Literal["interfaces", "hardware", "alarms"]


class _FilterDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decoder: Decoder
    requires: str | None = None
    subtree: str | None = None
    xpath: str | None = None

    @model_validator(mode="after")
    def _one_filter(self) -> _FilterDoc:
        if (self.subtree is None) == (self.xpath is None):
            raise ValueError("give exactly one of subtree or xpath")
        return self


class _VendorDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    filters: list[_FilterDoc]


@dataclass(frozen=True)
class NetconfFilter:
    """One ``<get>`` filter and the decoder that reads its answer."""

    decoder: Decoder
    kind: Literal["subtree", "xpath"]
    text: str
    requires: str | None

    def supported_by(self, capabilities: list[str]) -> bool:
        """Whether the device announced the module this filter needs."""
        return self.requires is None or any(c.split("?")[0] == self.requires for c in capabilities)


def builtin_vendor_dir() -> Path:
    """The vendor filter files shipped with Trucban."""
    return Path(str(resources.files("collectors.netconf").joinpath("vendors")))


def load_vendors(*dirs: Path) -> dict[str, tuple[NetconfFilter, ...]]:
    """Filters by vendor name from every ``*.yaml`` in ``dirs``; all-or-nothing."""
    out: dict[str, tuple[NetconfFilter, ...]] = {}
    problems: list[Problem] = []
    for _located, doc in read_yaml_models(dirs or (builtin_vendor_dir(),), _VendorDoc, problems):
        out[doc.name] = tuple(
            NetconfFilter(f.decoder, "subtree" if f.subtree else "xpath",
                          (f.subtree or f.xpath or "").strip(), f.requires)
            for f in doc.filters
        )
    if problems:
        raise ConfigError(problems, what="NETCONF vendor filters")
    return out
