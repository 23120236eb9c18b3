"""The printable report: Vietnamese HTML (Jinja2) and PDF through headless Chromium's print-to-PDF.

The HTML is self-contained (inline CSS, no script, A4 print rules), so the same
page serves the browser's print dialog, the PDF file and the e-mail link.
Chromium (Debian package ``chromium``) prints it; nothing leaves the machine.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from common.errors import TrucbanError
from common.timefmt import local_time
from common.vocab import DEVICE_ROLE_VI
from reports.report import AvailabilityReport

TEMPLATES = Path(__file__).parent / "templates"
BY_VI = {"commune": "Xã/phường", "site": "Địa điểm", "role": "Loại thiết bị", "operator": "Nhà mạng",
         "province": "Tỉnh/thành", "device": "Thiết bị"}


class PdfError(TrucbanError, RuntimeError):
    """The PDF could not be printed (no Chromium, or it failed)."""


def pct(value: float | None, digits: int = 3) -> str:
    """0.998461 → '99,846 %' (Vietnamese decimal comma); None → '—'."""
    return "—" if value is None else f"{100 * value:.{digits}f}".replace(".", ",") + " %"


def duration(seconds: float | None) -> str:
    """Seconds → 'N ngày hh:mm:ss' / 'hh:mm:ss' (exact to the second); None → '—'."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    days, rest = divmod(s, 86400)
    hms = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days} ngày {hms}" if days else hms


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.filters.update(pct=pct, duration=duration)
    return env


def render_html(report: AvailabilityReport, tz: ZoneInfo, *, title: str | None = None,
                worst: int = 30) -> str:
    """The whole printable report."""
    def local(ts: int) -> str:
        return local_time(ts, tz, "datetime_s")

    inv = report.inventory
    devices = sorted(report.devices.values(), key=lambda r: (-r.down_s, r.device))
    return _env().get_template("report.html").render(
        title=title or "Báo cáo khả dụng mạng TSLCD, DNS và trạm BTS",
        province=inv.reference.provinces.get(inv.province, inv.province),
        start=local(report.start), end=local(report.end), generated=local(report.generated_at),
        total=report.total(), indicators=report.indicators, ind=report.indicators.as_dict(),
        communes=report.groups("commune"), roles=report.groups("role"), operators=report.groups("operator"),
        worst=[r for r in devices[:worst] if r.down_s], inv=inv, name_of=report.name_of, by_vi=BY_VI,
        role_vi=DEVICE_ROLE_VI,
    )


def chromium() -> str | None:
    """Path of the Chromium binary, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def html_to_pdf(html: str, out: Path, timeout_s: float = 90.0) -> Path:
    """Print ``html`` to ``out`` (A4) with headless Chromium; raises PdfError with the reason."""
    binary = chromium()
    if binary is None:
        raise PdfError("không tìm thấy Chromium để in PDF (cài gói Debian 'chromium')")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trucban-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--disable-extensions", "--disable-background-networking",
               f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
               f"--print-to-pdf={out}", page.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium không in xong PDF trong {timeout_s:.0f} s") from None
    if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        raise PdfError(f"Chromium in PDF lỗi (mã {done.returncode}): {tail[0][:200]}")
    return out
