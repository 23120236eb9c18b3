"""The shared Vietnamese vocabulary: one word for each thing, whichever room shows it.

Why: the same device role or backup medium was named differently in alerts,
runbooks and reports ("Router" in one, "Bộ định tuyến" in another). Words used
by more than one room live here, keyed by the domain's plain string values (the
ground room imports nothing of the project); words of one room stay there.
"""

from __future__ import annotations

DEVICE_ROLE_VI: dict[str, str] = {
    "router": "Bộ định tuyến", "switch": "Bộ chuyển mạch", "dns": "Máy chủ DNS", "bts": "Trạm BTS",
    "power": "Hệ thống nguồn BTS", "leo": "Thiết bị vệ tinh LEO",
}
"""Device roles (``inventory.model.DeviceRole`` values)."""

MEDIUM_VI: dict[str, str] = {"fibre": "cáp quang", "4g": "4G", "5g": "5G", "leo": "vệ tinh LEO"}
"""Transmission media of primary and backup links (``inventory.model`` link media)."""

ERROR_KIND_VI: dict[str, str] = {
    "timeout": "không trả lời (hết thời gian chờ)",
    "no_reply": "không trả lời",
    "auth": "sai thông tin đăng nhập",
    "unreachable": "không tới được thiết bị",
    "refused": "bị từ chối kết nối",
    "permission": "không đủ quyền",
    "protocol": "lỗi giao thức",
    "malformed": "trả lời sai định dạng",
    "malformed_xml": "trả lời sai định dạng",
    "unparseable": "không đọc được câu trả lời",
    "rpc_error": "thiết bị báo lỗi",
    "servfail": "máy chủ DNS báo lỗi (SERVFAIL)",
    "family_unreachable": "một họ địa chỉ (IPv4/IPv6) không trả lời",
    "internal": "lỗi nội bộ của Trucban",
    "overloaded": "Trucban quá tải, chưa kết luận về thiết bị",
}
"""What each poll failure kind (``collectors.base.PollResult.error_kind``) means, for people."""
