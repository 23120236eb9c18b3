"""Parse show-command output with TextFSM (ntc-templates or a named template) into samples."""

from __future__ import annotations

from pathlib import Path

import textfsm
from ntc_templates.parse import parse_output

from collectors.ssh.errors import CliUnparseable
from collectors.ssh.platforms import CommandSpec
from store.base import FieldValue, Sample

RAW_LIMIT = 8000
CLI_ERROR_MARKERS = ("% Invalid input", "% Incomplete command", "% Ambiguous command", "% Unknown command")


def parse_rows(device: str, device_type: str, spec: CommandSpec, raw: str) -> list[dict[str, object]]:
    """Rows of parsed output; raises :class:`CliUnparseable` (raw kept) when nothing sensible comes out."""
    if any(marker in raw for marker in CLI_ERROR_MARKERS):
        raise CliUnparseable(device, spec.command, raw[:RAW_LIMIT], "the device rejected the command")
    try:
        if spec.template:
            with Path(spec.template).open(encoding="utf-8") as handle:
                fsm = textfsm.TextFSM(handle)
            header = [h.lower() for h in fsm.header]
            rows = [dict(zip(header, rec, strict=True)) for rec in fsm.ParseText(raw)]
        else:
            rows = parse_output(platform=device_type, command=spec.command, data=raw)
    except Exception as exc:  # textfsm's own errors, or no template for the command
        raise CliUnparseable(device, spec.command, raw[:RAW_LIMIT], f"{type(exc).__name__}: {exc}") from None
    if not rows and raw.strip():
        raise CliUnparseable(device, spec.command, raw[:RAW_LIMIT], "the template matched nothing")
    return rows


def to_samples(spec: CommandSpec, rows: list[dict[str, object]], tags: dict[str, str],
               ts: int) -> list[Sample]:
    """One sample per parsed row (tagged by the spec's index column when it has one)."""
    samples = []
    for position, row in enumerate(rows, start=1):
        fields: dict[str, FieldValue] = {}
        for name, field_spec in spec.fields.items():
            value = field_spec.convert(row)
            if value is not None:
                fields[name] = value
        if not fields:
            continue
        row_tags = dict(tags)
        if spec.index:
            row_tags[spec.index_tag] = str(row.get(spec.index) or position)
        samples.append(Sample(spec.measurement, row_tags, fields, ts))
    return samples


def raw_sample(exc: CliUnparseable, tags: dict[str, str], ts: int) -> Sample:
    """The raw text of output that did not parse, stored for the operator."""
    return Sample("cli_unparsed", {**tags, "command": exc.command}, {"text": exc.raw}, ts)
