"""Cause text for people: collector errors in Vietnamese, device names instead of ids.

An incident's ``why`` is built from what the collectors reported, and their
errors are written for logs, in English, with device ids ("c10532-bts1: no SNMP
answer from 10.0.0.5:161 (timeout 2 s × 2)"). Messages translate here, at the
message layer: known phrases become Vietnamese, a phrase that is not known is
named by its error kind (timeout → "không trả lời (hết thời gian chờ)") with the
original kept as a technical detail, and every device id becomes its name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from common.vocab import ERROR_KIND_VI
from inventory.inventory import Inventory

Sub = str | Callable[[re.Match[str]], str]

KIND_HINTS = (  # (words in an English error, its kind)
    (re.compile(r"time(d)?[ -]?out|no answer|no reply", re.I), "timeout"),
    (re.compile(r"auth|login|credential|password|rejected", re.I), "auth"),
    (re.compile(r"refused", re.I), "refused"),
    (re.compile(r"unreachable|no route|network is down", re.I), "unreachable"),
    (re.compile(r"permi(tted|ssion)", re.I), "permission"),
    (re.compile(r"malformed|parse", re.I), "malformed"),
)
PHRASES: tuple[tuple[re.Pattern[str], Sub], ...] = tuple(
    (re.compile(pattern, re.I), sub)
    for pattern, sub in (
        (
            r"no (\w+) answer from \S+ \(timeout ([\d.]+) ?s × (\d+)\)",
            lambda m: f"không trả lời {m[1].upper()} (hết thời gian chờ {m[2]} s × {m[3]} lần)",
        ),
        (r"no (\w+) answer \(timeout\)", lambda m: f"không trả lời {m[1].upper()} (hết thời gian chờ)"),
        (
            r"no (\w+) answer within the poll budget",
            lambda m: f"không trả lời {m[1].upper()} trong thời gian của chu kỳ đo",
        ),
        (r"no (\w+) answer( from \S+)?", lambda m: f"không trả lời {m[1].upper()}"),
        (r"no echo reply from \S+ \((\d+) sent\)", r"không trả lời ping (đã gửi \1 gói)"),
        (r"ping failed: ?", "ping lỗi: "),
        (r"ICMP sockets not permitted[^;]*", "không được phép gửi ICMP (cần quyền root hoặc CAP_NET_RAW)"),
        (r"(\d+)/(\d+) DNS probes failed: ?", r"\1/\2 truy vấn DNS thử bị lỗi: "),
        (r"no answer within ([\d.]+) ?s", r"không trả lời trong \1 s"),
        (r"connection refused( \(nothing listening\))?", "bị từ chối kết nối (không có dịch vụ lắng nghe)"),
        (r"malformed( \w+)? answer(: [^;,]*)?", "trả lời sai định dạng"),
        (r"answered (\w+)", r"trả lời \1"),
        (r"\(\+(\d+) more\)", r"(và \1 lỗi khác)"),
        (
            r"(\w+) authentication failed for [^:;]*(:[^;]*)?",
            lambda m: f"sai thông tin đăng nhập {m[1].upper()}",
        ),
        (
            r"(\w+) login as ('[^']*') rejected",
            lambda m: f"{m[1].upper()} từ chối đăng nhập tài khoản {m[2]}",
        ),
        (r"enable rejected(: [^;]*)?", "thiết bị từ chối lệnh enable"),
        (r"unknown credential ('[^']*')", r"không có thông tin đăng nhập \1 trong kho"),
        (r"device has no SNMP access configured", "thiết bị chưa được cấu hình truy cập SNMP"),
        (r"SNMP error-status (\d+) at index (\d+)", r"thiết bị báo lỗi SNMP (mã \1, vị trí \2)"),
        (r"SNMP error: ?", "lỗi SNMP: "),
        (r"rpc-error on (\S+) get", r"thiết bị báo lỗi NETCONF khi đọc \1"),
        (r"unknown NETCONF vendor ('[^']*')", r"chưa hỗ trợ NETCONF của hãng \1"),
        (r"check the user and keys", "kiểm tra tài khoản và khoá SNMPv3"),
        (r"\btimed out\b|\btimeout\b", "hết thời gian chờ"),
    )
)
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I)
ENGLISH_WORDS = re.compile(r"\b[a-z]{3,}\b(?:\W+\b[a-z]{2,}\b){2,}", re.I)
DEVICE_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def cause_vi(why: str, inventory: Inventory, device: str | None = None) -> str:
    """``why`` for a message: Vietnamese phrases and device names.

    ``device`` is the incident's own device: a leading "<device>: " is dropped (the message says where).
    """
    text = why.strip()
    if device and text.startswith(f"{device}: "):
        text = text[len(device) + 2 :]
    clauses = [_clause(c) for c in text.split("; ")]
    return _names("; ".join(clauses), inventory)


def _clause(text: str) -> str:
    """One clause: known phrases translated; an unknown English one named by its kind."""
    out = text
    for pattern, sub in PHRASES:
        out = pattern.sub(sub, out)
    if out == text and not VIETNAMESE.search(text) and ENGLISH_WORDS.search(text):
        kind = next((k for hint, k in KIND_HINTS if hint.search(text)), "protocol")
        return f"{ERROR_KIND_VI[kind]} (chi tiết kỹ thuật: {text})"
    return out


def _names(text: str, inventory: Inventory) -> str:
    """Every device id in ``text`` replaced by the device's name."""

    def name(m: re.Match[str]) -> str:
        token = m.group(0)
        for candidate in (token, token.rstrip(".")):
            dev = inventory.devices.get(candidate)
            if dev is not None:
                return dev.name + token[len(candidate) :]
        return token

    return DEVICE_TOKEN.sub(name, text)
