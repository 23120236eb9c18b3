"""What a diagnostic run is made of: steps asked for, step results, and one device's report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Protocol = Literal["ssh", "netconf", "dns"]
PROTOCOL_VI = {"ssh": "SSH CLI", "netconf": "NETCONF", "dns": "DNS"}


@dataclass(frozen=True, slots=True)
class Step:
    """One read-only request: a CLI show command, a named NETCONF get, or a DNS question ("SOA @")."""

    protocol: Protocol
    request: str


@dataclass(slots=True)
class StepResult:
    """What one step gave: the device's own output, or a named error; never a secret."""

    protocol: str
    request: str
    ok: bool
    output: str = ""
    error: str | None = None
    error_kind: str | None = None  # timeout, auth, unreachable, rpc_error, refused, internal
    ms: float = 0.0
    truncated: bool = False

    def clip(self, limit: int) -> StepResult:
        """Cut the output to ``limit`` characters, marking that it was cut."""
        if len(self.output) > limit:
            self.output = self.output[:limit] + f"\n… (cắt bớt, còn {len(self.output) - limit} ký tự)"
            self.truncated = True
        return self


@dataclass(slots=True)
class DiagnosticReport:
    """Every step run on one device for one incident."""

    device: str
    target: str  # "device" (the incident's own) or "parent"
    started: int
    finished: int = 0
    results: list[StepResult] = field(default_factory=list)
    skipped: str | None = None  # why nothing ran (refused after start-up checks)
    reused_from: int | None = None  # output shared from a run that started then (cool-down)

    @property
    def ok_count(self) -> int:
        """Steps that gave output."""
        return sum(r.ok for r in self.results)

    def summary_vi(self) -> str:
        """One Vietnamese line for the incident timeline."""
        who = "thiết bị" if self.target == "device" else "thiết bị cha"
        if self.skipped:
            return f"Chẩn đoán tự động trên {who} {self.device}: bỏ qua ({self.skipped})"
        protocols = ", ".join(sorted({PROTOCOL_VI.get(r.protocol, r.protocol) for r in self.results}))
        text = (f"Chẩn đoán tự động trên {who} {self.device} ({protocols}): "
                f"{self.ok_count}/{len(self.results)} bước có kết quả")
        if self.reused_from is not None:
            text += f" (dùng lại kết quả lần chạy {max(self.started - self.reused_from, 0)} giây trước)"
        failed = [r for r in self.results if not r.ok]
        if failed:
            text += "; lỗi: " + "; ".join(f"{r.request}: {r.error_kind or 'lỗi'}" for r in failed[:3])
        return text

    def data(self) -> dict[str, Any]:
        """JSON-able event data: the device, the target and each step's output."""
        return {"device": self.device, "target": self.target, "started": self.started,
                "finished": self.finished, "skipped": self.skipped, "reused_from": self.reused_from,
                "steps": [asdict(r) for r in self.results]}
