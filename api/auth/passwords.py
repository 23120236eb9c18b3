"""Password hashing with argon2id (argon2-cffi); a bad password never says which part was wrong."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
_DUMMY = _hasher.hash("trucban-timing-equaliser")


class WeakPassword(ValueError):
    """The chosen password is too short or too plain."""


def check_strength(password: str, username: str = "") -> None:
    """Refuse passwords people guess: too short, the username, one repeated character."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"mật khẩu cần ít nhất {MIN_LENGTH} ký tự (password needs {MIN_LENGTH}+ characters)"
        )
    if username and username.lower() in password.lower():
        raise WeakPassword("mật khẩu không được chứa tên đăng nhập (password contains the username)")
    if len(set(password)) < 4:
        raise WeakPassword("mật khẩu quá đơn giản (password too simple)")


def hash_password(password: str) -> str:
    """An argon2id hash string to store."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches; runs a dummy verification for unknown users (same timing)."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
