"""Random secrets and their keyed digests (session ids, API tokens, CSRF tokens).

Only digests are stored; a leaked database gives nobody a working session or token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "tbk_"


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random string."""
    return secrets.token_urlsafe(nbytes)


def digest(key: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` under the server key, hex."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
