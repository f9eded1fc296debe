"""The app factory: the one place that wires plugins, controllers, middleware, stores and jobs."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware.logging import LoggingMiddlewareConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from auth.controllers import ApiKeyController, AuthController
from auth.security import jwt_auth
from governance.cli import GovernanceCLIPlugin
from governance.db import alchemy_config
from governance.enforcement.plugin import EnforcementPlugin
from governance.health import health
from governance.inventory import InventoryController
from governance.retention.controllers import RetentionController
from governance.retention.scheduler import scheduler_lifespan
from governance.settings import Settings
from policy_docs.plugin import PolicyDocsPlugin
from tracking.journey.controllers import journey_routes
from tracking.plugin import TrackingPlugin

# Request log lines carry method, path, status and timing: never headers, cookies, bodies or query strings.
REQUEST_LOGGING = LoggingMiddlewareConfig(
    request_log_fields=("method", "path"),
    response_log_fields=("status_code",),
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
    db_config = alchemy_config(settings)
    auth = jwt_auth(settings)
    return Litestar(
        route_handlers=[
            health,
            AuthController,
            ApiKeyController,
            RetentionController,
            InventoryController,
            *journey_routes(settings),
        ],
        dependencies={"settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False)},
        plugins=[
            SQLAlchemyPlugin(config=db_config),
            GovernanceCLIPlugin(),
            PolicyDocsPlugin(),
            EnforcementPlugin(settings),
            TrackingPlugin(settings),
        ],
        on_app_init=[auth.on_app_init],
        lifespan=[scheduler_lifespan],
        middleware=[REQUEST_LOGGING.middleware],
        state=State({"settings": settings, "db_config": db_config}),
        cors_config=cors(settings),
        openapi_config=OpenAPIConfig(
            title="MailSetu Governance",
            version="0.1.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            loggers={"litestar": {"level": settings.log_level, "handlers": ["queue_listener"], "propagate": False}},
            formatters={"standard": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            log_exceptions="always",
            disable_stack_trace={400, 401, 403, 404, 405, 409, 413, 422, 429},  # client errors: one line, no trace
        ),
        debug=False,
    )
