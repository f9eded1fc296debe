"""`GET /health`: the app is up, its database answers, and how its shared store (Redis) is."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from governance.core.params import DbSession
from governance.core.stores import STORES_STATE_KEY, Stores


@get("/health", tags=["operations"], summary="Liveness, database reachability, shared store", exclude_from_auth=True)
async def health(request: Request, db_session: DbSession) -> Response[dict[str, str]]:
    """200 while the database answers `SELECT 1`, 503 otherwise: for load balancers and orchestrators.

    With `MS_REDIS_URL`, `shared_store` says whether Redis answers. Its outage is a degradation, not
    a failure (rate limits let requests through meanwhile), so it alone never makes this a 503:
    every instance shares the one Redis, and taking them all out of rotation would be an outage."""
    try:
        await db_session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    body = {"status": "ok", "database": "ok"}
    stores: Stores = request.app.state[STORES_STATE_KEY]
    reachable = await stores.reachable()
    if reachable is not None:
        body["shared_store"] = "ok" if reachable else "unreachable"
        body["status"] = "ok" if reachable else "degraded"
    return Response(body, status_code=HTTP_200_OK)
