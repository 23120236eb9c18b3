"""Loading and validating the runbooks: front-matter, placeholders, links, coverage.

A runbook is ``runbooks/<kind>.md``: a YAML front-matter between ``---`` lines,
then Markdown in Vietnamese. Loading is all-or-nothing: every problem is
collected and reported with file, line, field and value (:class:`ConfigError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from jinja2 import Environment, TemplateSyntaxError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alerting.incidents import IncidentKind, Severity
from common.errors import ConfigError, Problem
from inventory.model import DnsQuery
from inventory.sources import DocumentError, Located, parse_yaml, problems_from_validation

PROCEDURES = ("typhoon_preparation", "typhoon_recovery")
"""Runbooks that are procedures (no incident raises them), read before and after a storm."""

PLACEHOLDERS: dict[str, str] = {
    "commune": "tên xã/phường/đặc khu của sự cố",
    "commune_code": "mã xã",
    "command_post": "tên ban chỉ huy / trực ban của xã",
    "contacts": "danh bạ trực ban của xã (từ inventory)",
    "noc_contacts": "danh bạ NOC (các xã có trạm NOC trong inventory)",
    "site": "tên trạm",
    "device": "mã và tên thiết bị",
    "address": "địa chỉ IP của thiết bị",
    "operator": "nhà mạng / đơn vị vận hành",
    "hardening": "cấp chống chịu thiên tai của thiết bị",
    "parent": "thiết bị cha (phía trên) của thiết bị",
    "since": "bắt đầu từ (giờ Việt Nam)",
    "duration": "đã kéo dài bao lâu",
    "severity": "mức độ",
    "title": "tiêu đề sự cố",
    "why": "nguyên nhân do quy tắc phát hiện",
    "affected": "các thiết bị/xã bị ảnh hưởng",
    "minutes_left": "số phút ắc quy còn lại (dự báo)",
    "charge_pct": "dung lượng ắc quy còn lại (%)",
    "medium": "loại đường dự phòng đang dùng",
    "incident_id": "số sự cố",
}
"""Every ``{{ name }}`` a runbook may use, with what it becomes."""

SEVERITY_NAMES = {s.name.lower(): s for s in Severity}
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
LINK_RE = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = ("http://", "https://", "mailto:", "tel:", "#")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Diagnostics(_Model):
    """Read-only checks run when an incident of this kind opens (each must be on the allow-list)."""

    targets: tuple[Literal["device", "parent"], ...] = ("device",)
    ssh: dict[str, tuple[str, ...]] = {}  # CLI platform → show commands
    netconf: tuple[str, ...] = ()  # names of allow-listed NETCONF <get> filters
    dns: tuple[DnsQuery, ...] = ()  # questions asked of the DNS server over IPv4 and IPv6

    @property
    def empty(self) -> bool:
        """Nothing to run."""
        return not (any(self.ssh.values()) or self.netconf or self.dns)


class FrontMatter(_Model):
    """The YAML block at the top of a runbook."""

    kind: str = Field(min_length=1)
    title: str = Field(min_length=1)
    title_en: str = ""
    severity: Literal["info", "warning", "major", "critical"]
    links: tuple[str, ...] = ()
    diagnostics: Diagnostics = Diagnostics()


@dataclass(frozen=True, slots=True)
class Runbook:
    """One loaded runbook: its front-matter, its Markdown body and where it lives."""

    path: Path
    meta: FrontMatter
    body: str
    body_line: int  # file line of the body's first line

    @property
    def kind(self) -> str:
        """The incident kind (or procedure name) it covers."""
        return self.meta.kind

    @property
    def severity(self) -> Severity:
        """Default severity of this kind of incident."""
        return SEVERITY_NAMES[self.meta.severity]

    @property
    def link(self) -> str:
        """The link every alert carries: ``runbooks/<kind>.md``."""
        return f"runbooks/{self.path.name}"


@dataclass(frozen=True)
class Catalog:
    """Every runbook by kind."""

    directory: Path
    runbooks: dict[str, Runbook]

    def get(self, kind: str) -> Runbook:
        """The runbook for ``kind``; KeyError names the missing file."""
        try:
            return self.runbooks[str(kind)]
        except KeyError:
            raise KeyError(f"no runbook for {kind!r} ({self.directory / f'{kind}.md'} is missing)") from None


def runbook_dir() -> Path:
    """The runbooks shipped with Trucban."""
    return Path(str(resources.files("runbooks")))


def expected_kinds() -> list[str]:
    """Every kind that must have a runbook: each incident kind, then the procedures."""
    return [k.value for k in IncidentKind] + list(PROCEDURES)


def load_catalog(directory: Path | None = None, *, required: list[str] | None = None) -> Catalog:
    """Load and validate every ``*.md`` runbook in ``directory``; all-or-nothing."""
    directory = Path(directory) if directory is not None else runbook_dir()
    problems: list[Problem] = []
    found: dict[str, Runbook] = {}
    for path in sorted(directory.glob("*.md")):
        book, file_problems = parse_runbook(path)
        problems += file_problems
        if book is not None:
            found[book.kind] = book
    for kind in required if required is not None else expected_kinds():
        if kind not in found and not (directory / f"{kind}.md").exists():
            problems.append(Problem(str(directory / f"{kind}.md"), None, "(file)", kind,
                                    "missing runbook: every incident kind needs one"))
    known = set(expected_kinds()) if required is None else set(required)
    for kind, book in found.items():
        if kind not in known:
            problems.append(Problem(str(book.path), 2, "kind", kind,
                                    f"not an incident kind or procedure (known: {', '.join(sorted(known))})"))
    if problems:
        raise ConfigError(problems, what="runbooks")
    return Catalog(directory, found)


def parse_runbook(path: Path) -> tuple[Runbook | None, list[Problem]]:
    """One runbook and the problems found in it (front-matter, placeholders, links)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, None, "(file)", path.name, f"cannot read: {exc}")]
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None, [Problem(file, 1, "(front-matter)", lines[0] if lines else "",
                              "a runbook starts with a '---' line and a YAML front-matter")]
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        return None, [Problem(file, 1, "(front-matter)", "---", "front-matter is not closed by a '---' line")]
    located, problem = _located(file, "\n".join(lines[1:end]), first_line=2)
    if problem is not None:
        return None, [problem]
    assert located is not None
    try:
        meta = FrontMatter.model_validate(located.data)
    except ValidationError as exc:
        return None, problems_from_validation(exc, located)
    problems: list[Problem] = []
    if meta.kind != path.stem:
        problems.append(Problem(file, located.line(("kind",)), "kind", meta.kind,
                                f"must match the file name ({path.stem!r})"))
    for i, link in enumerate(meta.links):
        if not _resolves(path, link):
            problems.append(Problem(file, located.line(("links", i)), f"links.{i}", link,
                                    "link does not resolve to a file"))
    body_line = end + 2
    problems += check_body(path, lines[end + 1:], body_line)
    return Runbook(path, meta, "\n".join(lines[end + 1:]).strip("\n") + "\n", body_line), problems


def check_body(path: Path, body: list[str], first_line: int) -> list[Problem]:
    """Unknown placeholders and relative links that do not resolve, by line."""
    problems: list[Problem] = []
    file = str(path)
    try:
        Environment().parse("\n".join(body))  # rendered with Jinja2: a stray {% or {# must fail here
    except TemplateSyntaxError as exc:
        at = min(max((exc.lineno or 1) - 1, 0), max(len(body) - 1, 0))
        problems.append(Problem(file, first_line + at, "template", body[at] if body else "…",
                                f"not a valid placeholder template: {exc.message}"))
    for offset, line in enumerate(body):
        number = first_line + offset
        for name in PLACEHOLDER_RE.findall(line):
            if name not in PLACEHOLDERS:
                problems.append(Problem(file, number, "placeholder", name,
                                        f"unknown placeholder (known: {', '.join(PLACEHOLDERS)})"))
        for target in LINK_RE.findall(line):
            if not _resolves(path, target):
                problems.append(Problem(file, number, "link", target, "link does not resolve to a file"))
    return problems


def _resolves(path: Path, target: str) -> bool:
    """External links and anchors pass; a relative link must name an existing file."""
    if target.startswith(EXTERNAL):
        return True
    relative = target.split("#", 1)[0]
    return bool(relative) and (path.parent / relative).resolve().is_file()


def _located(file: str, text: str, first_line: int) -> tuple[Located | None, Problem | None]:
    """Parse front-matter YAML, recording the file line of every key and item."""
    try:
        located = parse_yaml(text, file, first_line)
    except DocumentError as exc:
        p = exc.problem
        return None, Problem(file, p.line or first_line, "(front-matter)", p.value, p.message)
    if not isinstance(located.data, dict):
        return None, Problem(file, first_line, "(front-matter)", located.data,
                             "front-matter must be a YAML mapping")
    return located, None
