"""Opening one NETCONF session: the single path every part of Trucban uses to reach a device over NETCONF.

Why: the collector's polls and the runbooks' read-only diagnostics used to
call ``ncclient.manager.connect`` with two copies of the same arguments and two
error mappings. A failure here is one of the collector's errors
(:class:`NetconfAuthError`, :class:`NetconfTimeout`, :class:`NetconfUnreachable`).
"""

from __future__ import annotations

from typing import Any

from ncclient import manager
from ncclient.transport import AuthenticationError

from collectors.netconf.errors import NetconfAuthError, NetconfTimeout, NetconfUnreachable
from inventory.model import Device


def open_netconf(device: Device, credentials: dict[str, Any], *, timeout_s: float,
                 hostkey_verify: bool = False, device_params: dict[str, Any] | None = None) -> Any:
    """A connected ncclient manager for ``device`` (its RPC timeout set to ``timeout_s``); blocking."""
    assert device.netconf is not None
    access = device.netconf
    cred = credentials.get(access.credential)
    if cred is None:
        raise NetconfAuthError(device.id, f"unknown credential {access.credential!r}")
    password = cred.password.get_secret_value() if getattr(cred, "password", None) else None
    extra = {"device_params": device_params} if device_params else {}
    try:
        mgr = manager.connect(host=str(device.address), port=access.port, username=cred.username,
                              password=password, key_filename=getattr(cred, "key_file", None),
                              timeout=timeout_s, hostkey_verify=hostkey_verify, ssh_config=None,
                              allow_agent=False, look_for_keys=False, **extra)
    except AuthenticationError:
        raise NetconfAuthError(device.id, f"NETCONF login as {cred.username!r} rejected") from None
    except Exception as exc:
        if "timed out" in str(exc).lower() or isinstance(exc, TimeoutError):
            raise NetconfTimeout(device.id, f"no NETCONF hello from {device.address}:{access.port} "
                                            f"within {timeout_s}s") from None
        raise NetconfUnreachable(device.id, f"cannot open NETCONF session to {device.address}:"
                                            f"{access.port}: {type(exc).__name__}: {exc}") from None
    mgr.timeout = timeout_s
    return mgr
