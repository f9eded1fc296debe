"""The OpenAPI document a dashboard developer can work from alone, and its viewer, served first-party.

- Every operation lists the errors it can answer: the ones every route of its shape can (400 for
  routes with inputs, 413 for routes with a body) are added here, in one place; each route declares
  its domain errors itself (`responses=problems(404, 409)`), and auth adds 401/403 with the security.
- Exports (`format=json|csv`) document both representations: JSON typed, and text/csv.
- ASGI route handlers (the tracking routes) are not in Litestar's document: each carries its own
  path item in `opt[OPENAPI_PATH]`, added here when the document is rendered.
- `/schema` is Swagger UI from the `openapi-ui-bundles` package, served by this app: the page
  works offline and calls no third party.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.plugins import InitPluginProtocol, ReceiveRoutePlugin
from litestar.routes import ASGIRoute, HTTPRoute
from litestar.static_files import create_static_files_router
from openapi_ui_bundles import swagger_ui

from governance.core.problems import problems

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.connection import Request
    from litestar.handlers import HTTPRouteHandler
    from litestar.routes import BaseRoute

SCHEMA_PATH = "/schema"
ASSETS = f"{SCHEMA_PATH}/assets"
RESERVED = frozenset({"request", "scope", "state", "headers", "cookies", "query", "body", "socket"})
QUERY_DEPENDENCIES = frozenset({"period", "page"})  # governance/core/params.py: they read the query
OPENAPI_PATH = "openapi_path"  # an ASGI route handler's opt: {its documented path: its OpenAPI path item}
CSV = {"text/csv": {"schema": {"type": "string", "description": "UTF-8 with a BOM, a header row, RFC 4180 quoting"}}}


def has_inputs(handler: HTTPRouteHandler) -> bool:
    names = set(handler.parsed_fn_signature.parameters) - RESERVED
    dependencies = set(handler.resolve_dependencies())
    return bool(names - dependencies) or bool(names & QUERY_DEPENDENCIES)


class ApiDocsPlugin(InitPluginProtocol, ReceiveRoutePlugin):
    """Adds the errors every route of a shape answers, and serves the viewer's assets."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(
            create_static_files_router(
                path=ASSETS,
                directories=[swagger_ui.static_path],
                include_in_schema=False,
                opt={"exclude_from_auth": True},
            )
        )
        return app_config

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            generic = problems(400) if has_inputs(handler) else {}
            if "data" in handler.parsed_fn_signature.parameters:
                generic |= problems(413)
            handler.responses = {**generic, **(handler.responses or {})}


def _documented(request: Request[Any, Any, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The document as served: with the ASGI handlers' own path items, and exports as CSV too."""
    documented = copy.deepcopy(schema)
    for route in request.app.routes:
        if isinstance(route, ASGIRoute):
            documented.setdefault("paths", {}).update(route.route_handler.opt.get(OPENAPI_PATH, {}))
    return _exports_as_csv(documented)


def _exports_as_csv(documented: dict[str, Any]) -> dict[str, Any]:
    """Operations taking `format=json|csv` answer text/csv too: add it beside their JSON 200."""
    for item in documented.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            formats = [
                p for p in operation.get("parameters", []) if p.get("name") == "format" and p.get("in") == "query"
            ]
            ok = operation.get("responses", {}).get("200", {})
            if formats and "content" in ok:
                ok["content"] = {**ok["content"], **CSV}
    return documented


class DocumentJson(JsonRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, _documented(request, openapi_schema))


class SwaggerViewer(SwaggerRenderPlugin):
    """Swagger UI with its assets and favicon from this app (Litestar's defaults load them from a CDN)."""

    def __init__(self) -> None:
        super().__init__(
            path="/",
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, _documented(request, openapi_schema))


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="MailSetu Governance",
        version=version,
        description=(
            "Cookie-policy versions, cookie and storage enforcement, email tracking opt-outs, journey analytics "
            "and retention. Errors are RFC 9457 problem details (`application/problem+json`)."
        ),
        path=SCHEMA_PATH,
        use_handler_docstrings=True,  # a handler's docstring is its operation's description
        render_plugins=[SwaggerViewer(), DocumentJson(path="/openapi.json")],
    )
