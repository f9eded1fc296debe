"""`GET /health`: the app is up and its database answers."""

from __future__ import annotations

from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from governance.core.params import DbSession


@get("/health", tags=["operations"], summary="Liveness and database reachability", exclude_from_auth=True)
async def health(db_session: DbSession) -> Response[dict[str, str]]:
    """200 while the database answers `SELECT 1`, 503 otherwise: for load balancers and orchestrators."""
    try:
        await db_session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response({"status": "ok", "database": "ok"}, status_code=HTTP_200_OK)
