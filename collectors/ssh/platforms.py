"""SSH CLI platforms: show commands and field mappings per platform, held as YAML data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.errors import ConfigError, Problem
from inventory.sources import read_yaml_models
from store.base import FieldValue


class FieldSpec(BaseModel):
    """How one parsed column becomes one sample field."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)
    source: str = Field(alias="from")
    type: Literal["str", "int", "float", "status"] = "str"
    map: dict[str, int] = {}

    def convert(self, row: dict[str, object]) -> FieldValue | None:
        """The field's value from a parsed row, or None when absent or empty."""
        raw = row.get(self.source)
        if isinstance(raw, list):
            raw = raw[0] if raw else None
        if raw is None or str(raw).strip() == "":
            return None
        text = str(raw).strip()
        if self.type == "status":
            return self.map.get(text.split()[0].lower(), 4)
        try:
            return int(text) if self.type == "int" else float(text) if self.type == "float" else text
        except ValueError:
            return None


class CommandSpec(BaseModel):
    """One show command, its parser and the measurement its rows feed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    command: str = Field(min_length=1)
    measurement: str = Field(min_length=1)
    template: str | None = None
    index: str | None = None
    index_tag: str = "index"
    fields: dict[str, FieldSpec]

    @field_validator("fields", mode="before")
    @classmethod
    def _short_form(cls, value: object) -> object:
        """``name: column`` is short for ``name: {from: column}``."""
        if isinstance(value, dict):
            return {k: {"from": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


class Platform(BaseModel):
    """A CLI platform: netmiko device type, whether to ``enable``, commands and diagnostics."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    device_type: str
    enable: bool = False
    commands: tuple[CommandSpec, ...]
    diagnostics: tuple[str, ...] = ()


def builtin_platform_dir() -> Path:
    """The platform files shipped with Trucban."""
    return Path(str(resources.files("collectors.ssh").joinpath("platforms")))


def load_platforms(*dirs: Path) -> dict[str, Platform]:
    """Platforms by name from every ``*.yaml`` in ``dirs`` (later override); all-or-nothing."""
    out: dict[str, Platform] = {}
    problems: list[Problem] = []
    for _located, platform in read_yaml_models(dirs or (builtin_platform_dir(),), Platform, problems):
        out[platform.name] = platform
    if problems:
        raise ConfigError(problems, what="SSH CLI platforms")
    return out
