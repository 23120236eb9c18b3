"""IPv6 view of the watched network: per-family reachability and readiness indicators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from api.auth.roles import Permission, Principal
from api.context import ApiContext
from api.errors import responses
from api.guard import Guard


def router(ctx: ApiContext, guard: Guard) -> APIRouter:
    """``GET /api/ipv6``: what the city plans' IPv6-only target asks to see."""
    api = APIRouter(prefix="/api", tags=["ipv6"], responses=responses(401, 403))
    reader = Depends(guard.need(Permission.READ))

    @api.get("/ipv6")
    def ipv6(who: Principal = reader) -> dict[str, Any]:
        """Per-family (IPv4/IPv6) state of dual-stack devices, and IPv6 readiness shares."""
        scope = None if who.communes is None else set(who.communes)
        inv = ctx.inventory
        families = {dev: fam for dev, fam in ctx.family_state().items()
                    if dev in inv.devices and who.sees(inv.commune_of(dev))}
        return {"families": families, "readiness": ctx.ipv6_readiness(communes=scope).as_dict()}

    return api
