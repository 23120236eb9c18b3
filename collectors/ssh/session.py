"""Opening one SSH CLI session: the single path every part of Trucban uses to log in to a device.

Why: the collector's polls and the runbooks' read-only diagnostics used to
open sessions with two copies of the same netmiko call and two different error
mappings. Here a failure is one of the collector's errors (a login refused is
:class:`CliAuthError`, no login in time :class:`CliTimeout`, anything else
:class:`CliUnreachable`), whoever asked.
"""

from __future__ import annotations

from typing import Any

from netmiko import ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException
from paramiko.ssh_exception import NoValidConnectionsError

from collectors.ssh.errors import CliAuthError, CliTimeout, CliUnreachable
from inventory.model import Device


def _password(cred: Any) -> str | None:
    secret = getattr(cred, "password", None) if cred is not None else None
    return secret.get_secret_value() if secret else None


def open_ssh(device: Device, credentials: dict[str, Any], device_type: str, *, enable: bool,
             timeout_s: float) -> Any:
    """A logged-in netmiko connection to ``device`` (in enable mode when ``enable``); blocking."""
    assert device.ssh is not None
    access = device.ssh
    cred = credentials.get(access.credential)
    if cred is None:
        raise CliAuthError(device.id, f"unknown credential {access.credential!r}")
    password = _password(cred)
    secret = _password(credentials.get(access.enable_credential)) if access.enable_credential else password
    key_file = getattr(cred, "key_file", None)
    try:
        conn = ConnectHandler(device_type=device_type, host=str(device.address), port=access.port,
                              username=cred.username, password=password, secret=secret or "",
                              key_file=key_file, use_keys=bool(key_file), allow_agent=False,
                              conn_timeout=timeout_s, auth_timeout=timeout_s, banner_timeout=timeout_s,
                              fast_cli=True, ssh_config_file=None)
        if enable:
            conn.enable()
    except NetmikoAuthenticationException:
        raise CliAuthError(device.id, f"SSH login as {cred.username!r} rejected") from None
    except NetmikoTimeoutException as exc:
        if isinstance(exc.__context__, (ConnectionRefusedError, NoValidConnectionsError)):
            raise CliUnreachable(device.id,
                                 f"SSH connection to {device.address}:{access.port} refused") from None
        raise CliTimeout(device.id, f"no SSH login on {device.address}:{access.port} within "
                                    f"{timeout_s:g}s") from None
    except ValueError as exc:  # netmiko: enable failed ("Failed to enter enable mode")
        raise CliAuthError(device.id, f"enable rejected: {str(exc)[:80]}") from None
    except Exception as exc:
        raise CliUnreachable(device.id, f"cannot open SSH session to {device.address}:{access.port}: "
                                        f"{type(exc).__name__}") from None
    return conn
