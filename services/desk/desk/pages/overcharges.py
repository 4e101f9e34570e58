"""The unit's open overcharges (överdebiteringar): what it owes patients, and marking one refunded."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from desk.pages.common import ActingFor, Services, is_htmx, render
from desk.services_client import Refused

router = APIRouter(tags=["overcharges"])


@router.get("/overcharges")
async def open_overcharges(request: Request, services: Services, acting: ActingFor) -> Response:
    return await show_overcharges(request, services, acting)


async def show_overcharges(
    request: Request, services: Services, acting: ActingFor, status_code: int = 200, **extra: object
) -> Response:
    try:
        found = await services.overcharges(acting.as_)
    except Refused as refused:
        return render(request, "overcharges.html", refused.status, acting=acting, overcharges=[], refused=refused)
    return render(request, "overcharges.html", status_code, acting=acting, overcharges=found, **extra)


@router.post("/overcharges/{overcharge_id}/refunded")
async def mark_refunded(overcharge_id: uuid.UUID, request: Request, services: Services, acting: ActingFor) -> Response:
    """The unit has paid the patient back: the overcharge is closed."""
    try:
        await services.mark_refunded(acting.as_, overcharge_id)
    except Refused as refused:
        return await show_overcharges(request, services, acting, refused.status, refused=refused)
    if is_htmx(request):
        return await show_overcharges(request, services, acting, message="message.refunded")
    return RedirectResponse("/overcharges?refunded=1", status_code=303)
