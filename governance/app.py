"""The app factory: the one place that wires plugins, middleware and cross-cutting configuration.

Every domain is a plugin built here with the settings and the database config (see
governance/core/plugin.py); errors are mapped once (governance/core/problems.py).
"""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware.logging import LoggingMiddlewareConfig

from auth.plugin import AuthPlugin
from governance.audit_log.plugin import AuditLogPlugin
from governance.cli import ServeCommandPlugin
from governance.console.plugin import ConsolePlugin
from governance.core.db import alchemy_config
from governance.core.deadline import body_deadline
from governance.core.openapi import ApiDocsPlugin, openapi_config
from governance.core.params import DEPENDENCIES
from governance.core.plugin import SETTINGS_STATE_KEY
from governance.core.problems import problem_details_plugin
from governance.core.requests import BoundedRequest
from governance.core.settings import Settings
from governance.core.stores import STORES_STATE_KEY, Stores
from governance.enforcement.plugin import EnforcementPlugin
from governance.evidence.plugin import EvidencePlugin
from governance.health import health
from governance.inventory.plugin import InventoryPlugin
from governance.retention.plugin import RetentionPlugin
from policy_docs.plugin import PolicyDocsPlugin
from tracking.journey.plugin import JourneyPlugin
from tracking.plugin import TrackingPlugin

DOMAINS = (
    AuthPlugin,
    PolicyDocsPlugin,
    EnforcementPlugin,
    TrackingPlugin,
    JourneyPlugin,
    RetentionPlugin,
    InventoryPlugin,
    AuditLogPlugin,
    EvidencePlugin,
    ConsolePlugin,  # after PolicyDocsPlugin: it adds its templates to the engine that one configures
)

# Request log lines carry method, path, status and timing: never headers, cookies, bodies or query strings.
REQUEST_LOGGING = LoggingMiddlewareConfig(
    request_log_fields=("method", "path"),
    response_log_fields=["status_code"],
    # /cookie-policy: a public, cached page on every visitor's path; logging it cost 3/4 of its time (bench/bench_policy_page.py)
    exclude=[r"^/t/", r"^/journey/events$", r"^/governance/violations$", r"^/health$", r"^/cookie-policy"],
)


def cors(settings: Settings) -> CORSConfig | None:
    """The dashboard on its own origin calls the API with the session cookie and the CSRF header."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Content-Type", "Authorization", "X-CSRF-Token"],
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    db = alchemy_config(settings)
    stores = Stores(settings)
    app = Litestar(
        route_handlers=[health],
        dependencies={"settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False), **DEPENDENCIES},
        plugins=[
            SQLAlchemyPlugin(config=db),
            problem_details_plugin(),
            ServeCommandPlugin(),
            *(domain(settings, db) for domain in DOMAINS),
            ApiDocsPlugin(),
        ],
        middleware=[REQUEST_LOGGING.middleware, body_deadline(settings.body_timeout_seconds)],
        request_class=BoundedRequest,
        stores=stores.registry,  # rate limits, the click-burst rule: in memory, or Redis with MS_REDIS_URL
        state=State({SETTINGS_STATE_KEY: settings, STORES_STATE_KEY: stores}),
        cors_config=cors(settings),
        openapi_config=openapi_config(version="0.1.0"),
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            loggers={"litestar": {"level": settings.log_level, "handlers": ["queue_listener"], "propagate": False}},
            formatters={"standard": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            log_exceptions="always",
            disable_stack_trace={
                400,
                401,
                403,
                404,
                405,
                408,
                409,
                413,
                415,
                422,
                429,
            },  # client errors: one line, no trace
        ),
        debug=False,
    )
    app.on_shutdown.append(stores.close)  # last: the spool's final load still remembers clicks in it
    return app
