"""The diagnostics allow-list: which read-only commands, NETCONF gets and DNS questions may run.

Held as data (``allowlist.yaml``). Two gates guard every request: it must not
look like configuration (a forbidden verb, chaining, redirection, a line
break), and it must be on the list for the device's platform, matched
exactly. The list itself is checked with the first gate when loaded, so a
configuration command cannot be allow-listed by mistake.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from common.errors import ConfigError, Problem, TrucbanError
from inventory.sources import read_yaml_model

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CHAINING = (";", "&&", ">", "<", "`", "$(")


class DiagnosticRefused(TrucbanError, PermissionError):
    """A diagnostic request was refused before anything was sent to the device."""

    def __init__(self, device: str, request: str, reason: str) -> None:
        self.device = device
        self.request = request
        self.reason = reason
        super().__init__(f"{device}: diagnostic {request!r} refused: {reason}")


class Limits(BaseModel):
    """How hard diagnostics may lean on a (possibly struggling) network."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    concurrency: int = Field(default=2, ge=1, le=32)
    timeout_s: float = Field(default=30, gt=0, le=300)
    command_timeout_s: float = Field(default=10, gt=0, le=120)
    max_output_chars: int = Field(default=8000, ge=200, le=200_000)
    max_steps: int = Field(default=8, ge=1, le=50)
    cooldown_s: int = Field(default=300, ge=0, le=86_400)


class DnsAllow(BaseModel):
    """DNS record types diagnostics may ask for."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    types: tuple[str, ...] = ("SOA", "NS", "A", "AAAA")


class AllowList(BaseModel):
    """Per-platform read-only commands, named NETCONF gets, DNS types and the limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    limits: Limits = Limits()
    forbidden: tuple[str, ...] = Field(min_length=1)
    ssh: dict[str, tuple[str, ...]] = {}
    netconf: dict[str, str] = {}
    dns: DnsAllow = DnsAllow()

    def configuration_word(self, request: str) -> str | None:
        """Why ``request`` looks like configuration (or could smuggle some), or None."""
        return looks_like_configuration(request, self.forbidden)

    def check_ssh(self, device: str, platform: str, command: str) -> None:
        """Raise :class:`DiagnosticRefused` unless ``command`` is read-only and allow-listed."""
        self._read_only(device, command)
        allowed = self.ssh.get(platform)
        if allowed is None:
            raise DiagnosticRefused(device, command, f"no diagnostics are allowed for CLI platform "
                                                     f"{platform!r} (known: {', '.join(sorted(self.ssh))})")
        if normalise(command) not in {normalise(c) for c in allowed}:
            raise DiagnosticRefused(device, command, f"not on the {platform} allow-list "
                                                     f"(poller/diagnostics/allowlist.yaml)")

    def check_netconf(self, device: str, name: str) -> str:
        """The subtree filter for an allow-listed NETCONF get; refuses anything else."""
        self._read_only(device, name)
        try:
            return self.netconf[name]
        except KeyError:
            raise DiagnosticRefused(device, name, "not an allow-listed NETCONF get (known: "
                                                  f"{', '.join(sorted(self.netconf))})") from None

    def check_dns(self, device: str, qtype: str, name: str) -> None:
        """Refuse DNS types off the list and names that leave the server's own zone."""
        request = f"{qtype} {name}"
        if CONTROL.search(request):
            raise DiagnosticRefused(device, request, "contains a control character")
        if qtype.upper() not in self.dns.types:
            raise DiagnosticRefused(device, request, f"DNS type {qtype!r} is not allowed "
                                                     f"(allowed: {', '.join(self.dns.types)})")
        if name.endswith(".") or " " in name:
            raise DiagnosticRefused(device, request, "DNS names are relative to the server's zone "
                                                     "('@' for the apex)")

    def _read_only(self, device: str, request: str) -> None:
        reason = self.configuration_word(request)
        if reason is not None:
            raise DiagnosticRefused(device, request, f"looks like configuration ({reason}); "
                                                     "diagnostics are read-only")


def normalise(command: str) -> str:
    """Lower-case with single spaces, for exact comparison."""
    return " ".join(command.lower().split())


def looks_like_configuration(request: str, forbidden: tuple[str, ...]) -> str | None:
    """The reason ``request`` could change a device, or None when it reads as a plain show command.

    Checked: control characters (a line break would send a second command),
    chaining/redirection characters, and the verb of the command and of every
    ``|`` segment against ``forbidden`` (also abbreviations: ``conf t``, ``wr``).
    """
    if CONTROL.search(request):
        return "contains a line break or control character"
    for mark in CHAINING:
        if mark in request:
            return f"contains {mark!r}"
    words = [w.lower() for w in forbidden]
    for segment in request.split("|"):
        tokens = segment.split()
        if not tokens:
            return "empty command or empty '|' segment"
        verb = tokens[0].lower()
        for word in words:
            if verb == word or (len(verb) >= 3 and word.startswith(verb)) or (
                    len(word) >= 4 and verb.startswith(word)):
                return f"{verb!r} means {word!r}"
    return None


def builtin_allowlist_path() -> Path:
    """The allow-list shipped with Trucban."""
    return Path(str(resources.files("poller.diagnostics").joinpath("allowlist.yaml")))


def load_allowlist(path: Path | None = None) -> AllowList:
    """Read and check the allow-list; all-or-nothing, problems name file, line, field and value."""
    path = path or builtin_allowlist_path()
    located, allow, found = read_yaml_model(path, AllowList)
    if located is None or allow is None:
        raise ConfigError(found, what="diagnostics allow-list")
    problems: list[Problem] = []
    for platform, commands in allow.ssh.items():
        for i, command in enumerate(commands):
            reason = allow.configuration_word(command)
            if reason is not None:
                problems.append(Problem(str(path), located.line(("ssh", platform, i)), f"ssh.{platform}.{i}",
                                        command, f"looks like configuration ({reason}); only read-only "
                                                 "commands may be allow-listed"))
    for name, subtree in allow.netconf.items():
        reason = allow.configuration_word(name)
        try:
            etree.fromstring(subtree.encode())
        except etree.XMLSyntaxError as exc:
            reason = reason or f"filter is not well-formed XML: {exc}"
        if reason is not None:
            problems.append(Problem(str(path), located.line(("netconf", name)), f"netconf.{name}", subtree,
                                    reason))
    if problems:
        raise ConfigError(problems, what="diagnostics allow-list")
    return allow
