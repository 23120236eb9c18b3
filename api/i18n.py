"""Vietnamese first, English on request: page labels, numbers and local times.

The language comes from the ``tb_lang`` cookie (set by ``/lang/en`` or ``/lang/vi``).
Data from the domain (incident titles, reasons) stays in Vietnamese, as written.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from api.i18n_ux import UX_TEXT
from common.timefmt import local_time as format_local

LANG_COOKIE = "tb_lang"
LANGS = ("vi", "en")

TEXT: dict[str, tuple[str, str]] = {
    "app": ("Trực ban", "Trucban"),
    "tagline": ("Giám sát mạng TSLCD và trạm BTS cấp xã", "Commune network and BTS monitoring"),
    "overview": ("Tổng quan", "Overview"),
    "incidents": ("Sự cố", "Incidents"),
    "maintenance": ("Bảo trì", "Maintenance"),
    "coordinator": ("Điều phối", "Coordinator"),
    "admin": ("Quản trị", "Admin"),
    "logout": ("Đăng xuất", "Log out"),
    "login": ("Đăng nhập", "Log in"),
    "username": ("Tên đăng nhập", "Username"),
    "password": ("Mật khẩu", "Password"),
    "bad_login": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password."),
    "too_many": ("Quá nhiều lần thử. Hãy thử lại sau {s} giây.", "Too many attempts. Try again in {s} s."),
    "devices": ("Thiết bị", "Devices"),
    "communes": ("Xã/phường", "Communes"),
    "commune": ("Xã/phường", "Commune"),
    "status": ("Trạng thái", "Status"),
    "problems": ("Thiết bị có sự cố", "Problem devices"),
    "on_backup": ("Đang chạy đường dự phòng", "On backup link"),
    "isolated": ("Bị cô lập", "Isolated"),
    "bts_battery": ("BTS chạy ắc quy", "BTS on battery"),
    "by_severity": ("Sự cố theo mức độ", "Incidents by severity"),
    "poller": ("Bộ thu thập", "Poller"),
    "cycle": ("Chu kỳ gần nhất", "Last cycle"),
    "duration": ("Thời gian", "Duration"),
    "late_polls": ("Lượt thu thập trễ", "Late polls"),
    "spool": ("Hàng đợi (spool)", "Spool"),
    "answered": ("trả lời", "answered"),
    "seconds": ("giây", "s"),
    "minutes": ("phút", "min"),
    "severity": ("Mức độ", "Severity"),
    "title": ("Nội dung", "Title"),
    "opened": ("Bắt đầu", "Opened"),
    "all": ("Tất cả", "All"),
    "active": ("Đang diễn ra", "Active"),
    "open": ("Mới", "Open"),
    "acknowledged": ("Đã xác nhận", "Acknowledged"),
    "resolved": ("Đã khắc phục", "Resolved"),
    "filter": ("Lọc", "Filter"),
    "why": ("Nguyên nhân", "Why"),
    "runbook": ("Hướng dẫn xử lý", "Runbook"),
    "timeline": ("Diễn biến", "Timeline"),
    "deliveries": ("Đã báo cho ai", "Who was told"),
    "stale": ("Mất kết nối tới máy chủ — dữ liệu lúc", "Connection to the server lost — data as of"),
    "stale_data": ("Số liệu cũ: không có kết quả đo mới — lần đo gần nhất lúc",
                   "Data is old: the poller sent nothing new — last poll at"),
    "alerts_toggle": ("Chuông báo", "Alert sound"),
    "alerts_help": ("Bật chuông và thông báo trình duyệt khi có sự cố khẩn cấp mới",
                    "Sound and browser notification when a new critical incident opens"),
    "post": ("Sở chỉ huy / trực ban", "Command post"),
    "contact": ("Người nhận", "Contact"),
    "channel": ("Kênh", "Channel"),
    "time": ("Thời điểm", "Time"),
    "next_try": ("thử lại lúc", "next try at"),
    "no_deliveries": ("Chưa có tin nào được gửi cho sự cố này.", "No message was sent for this incident."),
    "undelivered": ("Không báo được sự cố này tới", "This incident cannot be reported to"),
    "about_down": ("Báo sự cố", "Problem"),
    "about_recovered": ("Báo khắc phục", "Recovery"),
    "about_update": ("Cập nhật", "Update"),
    "dl_delivered": ("Đã gửi", "Delivered"),
    "dl_retrying": ("Đang thử lại", "Retrying"),
    "dl_failed": ("Gửi thất bại", "Failed"),
    "dl_pending": ("Đang chờ gửi", "Pending"),
    "dl_no_channel": ("Không có kênh liên lạc", "No channel"),
    "ack": ("Xác nhận", "Acknowledge"),
    "comment": ("Ghi chú", "Comment"),
    "acked_by": ("Người xác nhận", "Acknowledged by"),
    "scope": ("Phạm vi", "Scope"),
    "target": ("Đối tượng", "Target"),
    "reason": ("Lý do", "Reason"),
    "starts": ("Bắt đầu", "Starts"),
    "ends": ("Kết thúc", "Ends"),
    "create": ("Tạo", "Create"),
    "end_now": ("Kết thúc ngay", "End now"),
    "new_window": ("Tạo khung bảo trì", "New maintenance window"),
    "hours": ("Số giờ", "Hours"),
    "site": ("Địa điểm", "Site"),
    "sites": ("Địa điểm", "Sites"),
    "role": ("Vai trò", "Role"),
    "links": ("Đường truyền", "Links"),
    "contacts": ("Liên hệ sở chỉ huy", "Command-post contacts"),
    "charts": ("Biểu đồ", "Charts"),
    "utilisation": ("Tải giao diện (%)", "Interface utilisation (%)"),
    "errors": ("Lỗi giao diện (/s)", "Interface errors (/s)"),
    "rtt": ("Thời gian phản hồi (ms)", "Response time (ms)"),
    "battery": ("Dung lượng ắc quy (%)", "Battery charge (%)"),
    "projected": ("Dự báo còn chạy", "Projected runtime"),
    "no_data": ("Chưa có dữ liệu trong khoảng này.", "No data in this range."),
    "map": ("Bản đồ", "Map"),
    "list": ("Danh sách", "List"),
    "search": ("Tìm xã…", "Find commune…"),
    "bts": ("BTS", "BTS"),
    "minutes_left": ("Còn (phút)", "Minutes left"),
    "connectivity": ("Kết nối", "Connectivity"),
    "typhoon": ("Chế độ bão", "Typhoon mode"),
    "typhoon_none": ("", ""),
    "updated": ("Cập nhật", "Updated"),
    "users": ("Tài khoản", "Accounts"),
    "tokens": ("API token", "API tokens"),
    "audit": ("Nhật ký thao tác", "Audit log"),
    "revoke": ("Thu hồi", "Revoke"),
    "token_once": ("Token mới (chỉ hiện một lần, hãy lưu lại):", "New token (shown once, keep it):"),
    "name": ("Tên", "Name"),
    "scopes": ("Quyền", "Scopes"),
    "plain_map": ("Bản đồ giản lược (không tải được nền bản đồ)", "Plain map (no map tiles reachable)"),
    "legend_up": ("BTS hoạt động", "BTS up"),
    "legend_battery": ("Chạy ắc quy", "On battery"),
    "legend_down": ("BTS mất kết nối", "BTS down"),
    "legend_isolated": ("Xã bị cô lập", "Commune isolated"),
    "legend_unknown": ("Chưa rõ / không liên lạc được", "Unknown / unreachable"),
    "st_ok": ("Bình thường", "OK"),
    "st_degraded": ("Suy giảm", "Degraded"),
    "st_down": ("Có thiết bị mất kết nối", "Device down"),
    "st_isolated": ("Mất kết nối toàn xã", "Commune cut off"),
    "st_unknown": ("Chưa rõ / chưa có số liệu", "Unknown / no data yet"),
    "dev_up": ("Hoạt động", "Up"),
    "dev_down": ("Mất kết nối", "Down"),
    "dev_unreachable": ("Không liên lạc được (do thiết bị phía trên)", "Unreachable (upstream failure)"),
    "dev_degraded": ("Suy giảm", "Degraded"),
    "dev_maintenance": ("Đang bảo trì", "Maintenance"),
    "dev_unknown": ("Chưa rõ / chưa có số liệu", "Unknown / no data yet"),
    "conn_primary": ("Đường chính", "Primary link"),
    "conn_backup": ("Đường dự phòng", "Backup link"),
    "conn_isolated": ("Mất mọi đường kết nối", "All links lost"),
    "conn_unknown": ("Chưa rõ / chưa có số liệu", "Unknown / no data yet"),
    "link_primary": ("Đường chính", "Primary"),
    "link_backup": ("Đường dự phòng", "Backup"),
    "medium_fibre": ("cáp quang", "fibre"),
    "medium_4g": ("4G", "4G"),
    "medium_5g": ("5G", "5G"),
    "medium_leo": ("vệ tinh LEO", "LEO satellite"),
    "role_router": ("Bộ định tuyến", "Router"),
    "role_switch": ("Bộ chuyển mạch", "Switch"),
    "role_dns": ("Máy chủ DNS", "DNS server"),
    "role_bts": ("Trạm BTS", "BTS"),
    "role_power": ("Hệ thống nguồn BTS", "BTS power system"),
    "role_leo": ("Thiết bị vệ tinh LEO", "LEO terminal"),
    "kind_commune_hq": ("Trụ sở UBND xã/phường", "Commune HQ"),
    "kind_bts_site": ("Trạm BTS", "BTS site"),
    "kind_data_centre": ("Trung tâm dữ liệu", "Data centre"),
    "kind_dns_site": ("Trạm DNS", "DNS site"),
    "kind_noc": ("Trung tâm điều hành mạng (NOC)", "NOC"),
    "scope_device": ("Thiết bị", "Device"),
    "scope_site": ("Địa điểm", "Site"),
    "scope_commune": ("Xã/phường", "Commune"),
    "scope_role": ("Loại thiết bị", "Device role"),
    "with_problems": ("đang có sự cố", "with problems"),
    "back": ("Quay lại", "Back"),
    "language": ("English", "Tiếng Việt"),
}


TEXT.update(UX_TEXT)  # the duty-officer screens' own labels (api/i18n_ux.py)


def text(key: str, lang: str = "vi", **values: object) -> str:
    """The label for ``key`` in ``lang`` (Vietnamese when missing)."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    label = pair[1] if lang == "en" else pair[0]
    return label.format(**values) if values else label


def connectivity(value: str, lang: str = "vi") -> str:
    """A commune's connectivity code ('primary', 'backup:4g', 'isolated', 'unknown') for people."""
    kind, _, medium = value.partition(":")
    label = text(f"conn_{kind}", lang) if f"conn_{kind}" in TEXT else text("conn_unknown", lang)
    return f"{label} ({text(f'medium_{medium}', lang)})" if medium else label


def number(value: float | int | None, lang: str = "vi", digits: int = 0) -> str:
    """1234.5 → '1.234,5' in Vietnamese, '1,234.5' in English."""
    if value is None:
        return "—"
    shown = f"{value:,.{digits}f}"
    if lang == "en":
        return shown
    return shown.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def local_time(ts: int | None, tz: ZoneInfo) -> str:
    """Epoch seconds → 'HH:MM dd/mm/yyyy' local time (both languages write dates day first)."""
    if not ts:
        return "—"
    return format_local(ts, tz, "datetime_s")
