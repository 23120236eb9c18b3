"""Labels of the duty-officer screens (problems first, names, charts, entry points), Vietnamese first.

Merged into :data:`api.i18n.TEXT`; kept apart so the screens' words live in one place.
"""

from __future__ import annotations

UX_TEXT: dict[str, tuple[str, str]] = {
    "on_battery": ("Đang chạy ắc quy", "On battery"),
    "operator": ("Nhà mạng / đơn vị vận hành", "Operator"),
    "power_source": ("Nguồn điện", "Power"),
    "charge": ("dung lượng", "charge"),
    "problems_first": ("sự cố nặng nhất và lâu nhất lên đầu", "worst and longest problems first"),
    "filter_communes": ("Lọc danh sách xã/phường", "Filter the commune list"),
    "search_label": ("Tìm", "Search"),
    "search_hint": ("tên hoặc mã xã, gõ không dấu cũng được", "name or code, diacritics optional"),
    "province": ("Tỉnh/thành phố", "Province"),
    "device_role": ("Loại thiết bị", "Device role"),
    "problems_only": ("Chỉ xã có sự cố", "Problems only"),
    "clear_filters": ("Bỏ lọc", "Clear filters"),
    "communes_caption": ("Các xã/phường, sự cố nặng nhất và lâu nhất lên đầu",
                         "Communes, worst and longest problems first"),
    "lasting": ("Đã kéo dài", "Lasting"),
    "and_more": ("và {n} thiết bị khác", "and {n} more"),
    "no_match": ("Không có xã/phường nào khớp bộ lọc.", "No commune matches the filters."),
    "shown_isolated": ("Mất kết nối toàn xã", "Commune cut off"),
    "shown_down": ("Có thiết bị mất kết nối", "Device down"),
    "shown_battery": ("BTS đang chạy ắc quy", "BTS on battery"),
    "shown_degraded": ("Suy giảm", "Degraded"),
    "shown_unknown": ("Chưa rõ / chưa có số liệu", "Unknown / no data yet"),
    "shown_ok": ("Bình thường", "OK"),
    "menu": ("Trình đơn", "Menu"),
    "reports": ("Báo cáo", "Reports"),
    "runbooks": ("Hướng dẫn xử lý", "Runbooks"),
}
