"""Reading inventory files while remembering where each value came from.

Errors must name the file and line, so YAML is composed into nodes first and
every mapping key / list item gets its line recorded by path; CSV rows keep
their line number. Pydantic's error ``loc`` tuples are then turned into lines.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from common.errors import Problem

Path_ = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)
SECRET_HINTS = ("community", "key", "password", "secret", "token", "url", "pass", "auth", "priv")
SHOWN_KEYS = ("kind", "name", "id", "code", "role", "type", "protocol")  # shown inside a masked mapping


@dataclass
class Located:
    """A parsed document plus the line of every path inside it."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        """Line of the deepest known prefix of ``path`` (1-based)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


class DocumentError(Exception):
    """A file cannot even be parsed; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def read_yaml(path: Path) -> Located:
    """Parse a YAML file and record the line of every key and list item."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(Problem(str(path), None, "(file)", str(path), f"cannot read: {exc}")) from exc
    return parse_yaml(text, str(path))


def parse_yaml(text: str, file: str, first_line: int = 1) -> Located:
    """Parse YAML ``text`` that starts at ``first_line`` of ``file``; lines of every key and item.

    The one line-recording YAML reader (inventory, settings, rules, routes, runbooks'
    front-matter); a syntax error is a :class:`DocumentError` naming the file line.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + first_line if mark is not None else None
        raise DocumentError(
            Problem(file, line, "(syntax)", getattr(exc, "problem", ""), f"invalid YAML: {exc}")
        ) from exc
    located = Located(file, data if data is not None else {})
    if node is not None:
        _walk(node, (), located.lines, first_line - 1)
    return located


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], shift: int) -> None:
    lines[path] = node.start_mark.line + 1 + shift
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            _walk(value, child, lines, shift)
            lines[child] = key.start_mark.line + 1 + shift
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, shift)


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) with empty cells dropped; header is line 1."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            for number, row in enumerate(csv.DictReader(fh), start=2):
                if None in row:
                    raise DocumentError(
                        Problem(str(path), number, "(row)", row[None], "more cells than header columns")
                    )
                yield number, {k.strip(): v.strip() for k, v in row.items() if v and v.strip()}
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(Problem(str(path), None, "(file)", str(path), f"cannot read: {exc}")) from exc


def problems_from_validation(
    exc: ValidationError, located: Located, prefix: Path_ = ()
) -> list[Problem]:
    """Turn pydantic errors into problems naming file, line, field and value.

    Values that may be secret are never shown: a field whose name hints at a
    secret, the value of a key that is not allowed (a mistyped ``pasword`` or
    ``ulr`` holds the secret all the same), and every value inside a mapping or
    list (an entry rejected whole, e.g. an unknown ``kind``), except the keys in
    :data:`SHOWN_KEYS`.
    """
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        full = (*prefix, *loc)
        field_name = ".".join(str(p) for p in full) or "(document)"
        value = err.get("input")
        if any(h in field_name.lower() for h in SECRET_HINTS) or err.get("type") == "extra_forbidden":
            value = "***"
        else:
            value = masked(value)
        problems.append(Problem(located.file, located.line(full), field_name, value, err["msg"]))
    return problems


def masked(value: Any) -> Any:
    """``value`` safe to show: mappings keep their keys (and :data:`SHOWN_KEYS` values), the rest ``***``."""
    if isinstance(value, dict):
        return {
            str(k): v if str(k) in SHOWN_KEYS and isinstance(v, str | int | float | bool) else masked_leaf(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [masked_leaf(v) for v in value]
    return value


def masked_leaf(value: Any) -> Any:
    """A value nested in a rejected entry: structure kept, scalars hidden."""
    if isinstance(value, dict | list | tuple):
        return masked(value) if isinstance(value, dict) else ["…"] * min(len(value), 1)
    return "***" if value is not None else None


def read_yaml_model(path: Path, model: type[ModelT]) -> tuple[Located | None, ModelT | None, list[Problem]]:
    """``path`` read as YAML and validated as ``model``: (document, model, problems).

    The one read → validate → problems step of every YAML file Trucban takes
    (rules, inventory, allow-lists, data files); on any problem the model is
    None, and each problem names the file, line, field and value.
    """
    try:
        located = read_yaml(path)
    except DocumentError as exc:
        return None, None, [exc.problem]
    try:
        return located, model.model_validate(located.data), []
    except ValidationError as exc:
        return located, None, problems_from_validation(exc, located)


def read_yaml_models(
    dirs: Iterable[Path], model: type[ModelT], problems: list[Problem]
) -> list[tuple[Located, ModelT]]:
    """Every ``*.yaml`` in ``dirs`` (in order, files sorted) validated as ``model``.

    Data files (device profiles, NETCONF vendors, CLI platforms) load this way:
    each problem is appended to ``problems`` with its file and line, and the bad
    file is skipped, so the caller can reject the whole set at once.
    """
    out: list[tuple[Located, ModelT]] = []
    for directory in dirs:
        for path in sorted(Path(directory).glob("*.yaml")):
            located, value, found = read_yaml_model(path, model)
            problems += found
            if located is not None and value is not None:
                out.append((located, value))
    return out
