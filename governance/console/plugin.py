"""Wires the console into the app: its router (HTMX requests, CSP, console error pages), static files, templates.

A new page: a controller in governance/console/pages/, listed in PAGES below, and a NavItem in web.NAV.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import Router
from litestar.plugins.htmx import HTMXRequest
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from governance.console import filters, web
from governance.console.pages.audit import AuditPages
from governance.console.pages.drift import DriftPages
from governance.console.pages.home import HomeController
from governance.console.pages.inventory import InventoryPages
from governance.console.pages.people import PeoplePages
from governance.console.pages.policy import PolicyPages
from governance.console.pages.reports import ReportPages
from governance.console.pages.retention import RetentionPages
from governance.console.pages.session import SessionController
from governance.core.plugin import DomainPlugin

if TYPE_CHECKING:
    from litestar.config.app import AppConfig

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Every console page controller. A new page adds one line here.
PAGES: list[type] = [
    SessionController,
    HomeController,
    PolicyPages,
    DriftPages,
    InventoryPages,
    AuditPages,
    RetentionPages,
    ReportPages,
    PeoplePages,
]


def console_router() -> Router:
    return Router(
        path=web.PREFIX,
        route_handlers=PAGES,
        request_class=HTMXRequest,
        response_headers=web.RESPONSE_HEADERS,
        opt=web.ROUTER_OPT,
        include_in_schema=False,
        tags=["console"],
    )


def static_router() -> Router:
    return create_static_files_router(
        path=f"{web.PREFIX}/static",
        directories=[STATIC],
        opt={"exclude_from_auth": True},  # the sign-in page needs its stylesheet before anyone signs in
        include_in_schema=False,
        cache_control=None,
        send_as_attachment=False,
        name="console-static",
    )


def with_console_templates(config: TemplateConfig[Any] | None) -> TemplateConfig[Any]:
    """The app's one template engine, searching the console's templates too (the policy plugin configures it)."""
    assert config is not None, "PolicyDocsPlugin (listed before the console) configures the template engine"
    directories = config.directory if isinstance(config.directory, list) else [config.directory]
    previous = config.engine_callback

    def callback(engine: Any) -> None:
        if previous is not None:
            previous(engine)
        filters.register(engine)

    return TemplateConfig(directory=[*directories, TEMPLATES], engine=config.engine, engine_callback=callback)


class ConsolePlugin(DomainPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend([console_router(), static_router()])
        app_config.template_config = with_console_templates(app_config.template_config)
        return app_config
