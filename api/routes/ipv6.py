"""IPv6 view of the watched network: per-family reachability and readiness indicators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import Ctx, Reader
from api.errors import responses

router = APIRouter(prefix="/api", tags=["ipv6"], responses=responses(401, 403))


@router.get("/ipv6")
def ipv6(who: Reader, ctx: Ctx) -> dict[str, Any]:
    """Per-family (IPv4/IPv6) state of dual-stack devices, and IPv6 readiness shares."""
    scope = None if who.communes is None else set(who.communes)
    inv = ctx.inventory
    families = {dev: fam for dev, fam in ctx.family_state().items()
                if dev in inv.devices and who.sees(inv.commune_of(dev))}
    return {"families": families, "readiness": ctx.ipv6_readiness(communes=scope).as_dict()}
