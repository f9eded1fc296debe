"""Inventory: what was declared in force at an instant, with the API's CSV and JSON exports as downloads."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from litestar import Controller, get
from litestar.params import QueryParameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from governance.console import forms, web
from governance.core.clock import utcnow
from governance.core.errors import DomainError, FieldError
from governance.core.params import AppSettings
from governance.enforcement.allowlist import Deployment
from governance.inventory import service
from policy_docs import cache as policy_cache


class InventoryPages(Controller):
    path = "/inventory"
    guards = [web.readers]

    @get("/", summary="The inventory in force at an instant")
    async def inventory(
        self,
        request: HTMXRequest,
        settings: AppSettings,
        at: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> Template:
        errors: list[FieldError] = []
        status = 200
        rows: list[dict[str, object]] = []
        snapshot = None
        instant = utcnow()
        try:
            if at:
                instant = forms.utc_instant(at, "at")
            found = await policy_cache.at(request.app.state, instant)
            snapshot = Deployment.of(settings).snapshot(service.in_force(found, instant))  # as the export does
            rows = service.rows(snapshot)
        except DomainError as exc:
            errors, status = exc.errors or [FieldError("at", exc.detail)], exc.status
        query = urlencode({"at": instant.isoformat()})
        return web.page(
            request,
            "console/inventory.html.j2",
            active="inventory",
            status_code=status,
            rows=rows,
            snapshot=snapshot,
            instant=instant,
            at=at or forms.local_input(instant),
            errors=web.field_errors(errors),
            csv_href=f"/api/inventory?{query}&format=csv",
            json_href=f"/api/inventory?{query}&format=json",
        )
