"""The tracking API for the dashboard and the sending pipeline (account members, API keys, admins).
Thin: rules live in tracking.service and tracking.events. The public routes that recipients' mail
clients hit are in tracking.public_routes.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from auth.guards import account_members, account_scope, ensure_account_access, target_account
from auth.schemas import AuthRequest, Principal
from governance.core.params import DbSession, PeriodParam, RowId
from governance.core.problems import problems
from tracking import events, service
from tracking.models import SendingDomain
from tracking.schemas import (
    DomainCreate,
    DomainReport,
    DomainTracking,
    DomainTrackingPatch,
    DomainView,
    EmailCreate,
    EmailRegistered,
    EmailTracking,
    EmailTrackingPatch,
    EventView,
    SkippedLinkView,
    SuppressionCreate,
    SuppressionRemoved,
    SuppressionView,
)
from tracking.service import TrackingContext

AccountId = Annotated[UUID | None, QueryParameter(description="Admins: the account to act for")]
DomainName = Annotated[str, PathParameter(max_length=253, description="A sending domain, e.g. news.acme.example")]
Context = NamedDependency[TrackingContext]


async def owned_domain(db_session: DbSession, principal: Principal, name: str) -> SendingDomain:
    """The domain, if the principal's account owns it; other accounts' domains do not exist (404)."""
    domain = await service.get_domain(db_session, name)
    ensure_account_access(principal, domain.account_id, "sending domain")
    return domain


def domain_view(domain: SendingDomain) -> DomainView:
    return DomainView(domain=domain.name, account_id=domain.account_id, tracking=service.domain_tracking(domain))


class DomainController(Controller):
    path = "/api/domains"
    tags = ["tracking"]
    guards = [account_members]

    @post("/", summary="Register a sending domain for an account", responses=problems(409, 422))
    async def add(
        self, data: JSONBody[DomainCreate], request: AuthRequest, db_session: DbSession, account_id: AccountId = None
    ) -> DomainView:
        account = target_account(request.user, account_id)
        return domain_view(
            await service.add_domain(db_session, account_id=account, name=data.domain, actor=request.user.label)
        )

    @get("/", summary="The account's sending domains")
    async def list_domains(self, request: AuthRequest, db_session: DbSession) -> list[DomainView]:
        return [domain_view(d) for d in await service.list_domains(db_session, account_scope(request.user))]

    @get("/{domain:str}/tracking", summary="A domain's tracking settings", responses=problems(404))
    async def get_tracking(self, domain: DomainName, request: AuthRequest, db_session: DbSession) -> DomainTracking:
        return service.domain_tracking(await owned_domain(db_session, request.user, domain))

    @put(
        "/{domain:str}/tracking",
        summary="Replace a domain's tracking settings (audited)",
        description="PUT replaces: every field is set, and a field left out takes its default.",
        responses=problems(404, 422),
    )
    async def put_tracking(
        self, domain: DomainName, data: JSONBody[DomainTracking], request: AuthRequest, db_session: DbSession
    ) -> DomainTracking:
        row = await owned_domain(db_session, request.user, domain)
        return await service.set_domain_tracking(db_session, row, data, actor=request.user.label)

    @patch(
        "/{domain:str}/tracking",
        summary="Change some of a domain's tracking settings (audited)",
        description="PATCH merges: only the fields sent change.",
        responses=problems(404, 422),
    )
    async def patch_tracking(
        self, domain: DomainName, data: JSONBody[DomainTrackingPatch], request: AuthRequest, db_session: DbSession
    ) -> DomainTracking:
        row = await owned_domain(db_session, request.user, domain)
        merged = service.merged_tracking(service.domain_tracking(row), data)
        return await service.set_domain_tracking(db_session, row, merged, actor=request.user.label)

    @get(
        "/{domain:str}/tracking/report",
        summary="Opens, unique opens, clicks per link; raw and human-only",
        responses=problems(404),
    )
    async def report(
        self, domain: DomainName, request: AuthRequest, db_session: DbSession, period: PeriodParam
    ) -> DomainReport:
        row = await owned_domain(db_session, request.user, domain)
        return await events.domain_report(db_session, row, since=period.since, until=period.until)


class EmailController(Controller):
    path = "/api/emails"
    tags = ["tracking"]
    guards = [account_members]

    @post(
        "/",
        summary="Register an outgoing email; returns its bodies with tracking applied",
        responses=problems(404, 413, 422),
    )
    async def register(
        self, data: JSONBody[EmailCreate], request: AuthRequest, db_session: DbSession, tracking_context: Context
    ) -> EmailRegistered:
        done = await service.register_email(
            db_session, tracking_context, account_id=account_scope(request.user), data=data
        )
        return EmailRegistered(
            id=done.email.id,
            tracking=service.email_tracking(done.email, done.domain),
            html=done.html,
            text=done.text,
            links_tracked=done.links_tracked,
            links_skipped=[SkippedLinkView(url=s.url, reason=s.reason) for s in done.skipped],
        )

    @get(
        "/{email_id:int}/tracking",
        summary="An email's tracking decision and whether it still records",
        responses=problems(404),
    )
    async def get_tracking(self, email_id: RowId, request: AuthRequest, db_session: DbSession) -> EmailTracking:
        email, domain = await service.get_email(db_session, email_id, account_scope(request.user))
        return service.email_tracking(email, domain)

    @patch(
        "/{email_id:int}/tracking",
        summary="Stop (or resume) recording an email's opens or clicks",
        description="PATCH merges: a kind left out keeps its state. Turning a kind back on is a 409 when a "
        "stricter level forbids it or the email went out without it.",
        responses=problems(404, 409),
    )
    async def patch_tracking(
        self, email_id: RowId, data: JSONBody[EmailTrackingPatch], request: AuthRequest, db_session: DbSession
    ) -> EmailTracking:
        email, domain = await service.get_email(db_session, email_id, account_scope(request.user))
        return await service.change_email_tracking(db_session, email, domain, data, actor=request.user.label)

    @get(
        "/{email_id:int}/events",
        summary="An email's opens and clicks, with the client class of each",
        responses=problems(404),
    )
    async def events(
        self,
        email_id: RowId,
        request: AuthRequest,
        db_session: DbSession,
        limit: Annotated[int, QueryParameter(ge=1, le=5000, description="Events to return, oldest first")] = 500,
    ) -> list[EventView]:
        await service.get_email(db_session, email_id, account_scope(request.user))
        return await events.email_events(db_session, email_id, limit=limit)


class SuppressionController(Controller):
    """Recipients (an address or a whole domain) an account never tracks; stored as keyed hashes."""

    path = "/api/suppressions"
    tags = ["tracking"]
    guards = [account_members]

    @post("/", summary="Never track this address or recipient domain", responses=problems(422))
    async def add(
        self,
        data: JSONBody[SuppressionCreate],
        request: AuthRequest,
        db_session: DbSession,
        tracking_context: Context,
        account_id: AccountId = None,
    ) -> SuppressionView:
        row = await service.add_suppression(
            db_session,
            tracking_context,
            account_id=target_account(request.user, account_id),
            recipient=data.recipient,
            actor=request.user.label,
        )
        return SuppressionView(id=row.id, kind=row.kind, created_at=row.created_at)

    @get("/", summary="The account's suppressions (hashed: the addresses are not shown)")
    async def list_suppressions(
        self, request: AuthRequest, db_session: DbSession, account_id: AccountId = None
    ) -> list[SuppressionView]:
        rows = await service.list_suppressions(db_session, target_account(request.user, account_id))
        return [SuppressionView(id=r.id, kind=r.kind, created_at=r.created_at) for r in rows]

    @delete("/{suppression_id:uuid}", status_code=HTTP_200_OK, summary="Remove a suppression", responses=problems(404))
    async def remove(
        self, suppression_id: FromPath[UUID], request: AuthRequest, db_session: DbSession
    ) -> SuppressionRemoved:
        await service.remove_suppression(
            db_session, suppression_id=suppression_id, account_id=account_scope(request.user), actor=request.user.label
        )
        return SuppressionRemoved(removed=True)
