"""Credentials, kept apart from the inventory and referenced by name.

Devices say ``credential: hp-snmp``; the secret lives in a credentials file
(which can be kept out of version control) or in an environment variable named
there (``community_env: TRUCBAN_HP_COMMUNITY``). Secrets are ``SecretStr`` so
they never print; errors about them never show the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from common.errors import Problem
from inventory.sources import DocumentError, problems_from_validation, read_yaml


class _Cred(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnmpCommunity(_Cred):
    """SNMP v1/v2c community."""

    kind: Literal["snmp_v1", "snmp_v2c"]
    community: SecretStr | None = None
    community_env: str | None = None


class SnmpV3User(_Cred):
    """SNMPv3 USM user: noAuthNoPriv, authNoPriv or authPriv."""

    kind: Literal["snmp_v3"]
    user: str = Field(min_length=1)
    auth_protocol: Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"] = "none"
    auth_key: SecretStr | None = None
    auth_key_env: str | None = None
    priv_protocol: Literal["none", "des", "aes128", "aes192", "aes256"] = "none"
    priv_key: SecretStr | None = None
    priv_key_env: str | None = None
    context: str = ""


class Login(_Cred):
    """User name and password or key for SSH CLI and NETCONF."""

    kind: Literal["login"]
    username: str = Field(min_length=1)
    password: SecretStr | None = None
    password_env: str | None = None
    key_file: str | None = None


Credential = Annotated[SnmpCommunity | SnmpV3User | Login, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[dict[str, Credential]] = TypeAdapter(dict[str, Credential])


def load_credentials(path: Path, env: Mapping[str, str] | None = None) -> tuple[dict, list[Problem]]:
    """Load a credentials file; return (credentials by name, problems).

    ``*_env`` fields are resolved now, so a missing variable is reported at load
    time (naming the variable, never a value) instead of at the first poll.
    """
    env = os.environ if env is None else env
    try:
        located = read_yaml(path)
    except DocumentError as exc:
        return {}, [exc.problem]
    raw = located.data.get("credentials", {}) if isinstance(located.data, dict) else None
    if not isinstance(raw, dict):
        return {}, [Problem(str(path), 1, "credentials", "…", "expected a mapping of name → credential")]
    try:
        creds = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        return {}, problems_from_validation(exc, located, ("credentials",))
    problems: list[Problem] = []
    resolved = {}
    for name, cred in creds.items():
        updates = {}
        for secret_field in ("community", "auth_key", "priv_key", "password"):
            var = getattr(cred, f"{secret_field}_env", None)
            if var is None:
                continue
            if var not in env:
                line = located.line(("credentials", name, f"{secret_field}_env"))
                problems.append(
                    Problem(str(path), line, f"credentials.{name}.{secret_field}_env", var,
                            "environment variable is not set")
                )
            else:
                updates[secret_field] = SecretStr(env[var])
        resolved[name] = cred.model_copy(update=updates) if updates else cred
    return resolved, problems
