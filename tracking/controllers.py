"""The tracking API for the dashboard and the sending pipeline (account members, API keys, admins).
Thin: rules live in tracking.service and tracking.events. The public routes that recipients' mail
clients hit are in tracking.public_routes.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from advanced_alchemy.filters import LimitOffset
from advanced_alchemy.service import OffsetPagination
from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from auth.guards import account_members, account_scope, auditors, ensure_account_access, target_account
from auth.schemas import AuthRequest, Principal
from governance.core.exports import export_response, export_spec
from governance.core.params import DbSession, ExportFormat, PageParam, PeriodParam, RowId
from governance.core.problems import problems
from tracking import events, service
from tracking.models import RecipientSuppression, SendingDomain
from tracking.schemas import (
    DAILY_COLUMNS,
    LINK_COLUMNS,
    DailyStats,
    DomainCreate,
    DomainReport,
    DomainTracking,
    DomainTrackingPatch,
    DomainView,
    EmailCreate,
    EmailRegistered,
    EmailTracking,
    EmailTrackingPatch,
    EmailView,
    EventView,
    LinkClicksView,
    RecipientErase,
    RecipientErased,
    SuppressionCreate,
    SuppressionRemoved,
    SuppressionView,
)
from tracking.service import TrackingContext

AccountId = Annotated[UUID | None, QueryParameter(description="Admins: the account to act for")]
DomainName = Annotated[str, PathParameter(max_length=253, description="A sending domain, e.g. news.acme.example")]
Context = NamedDependency[TrackingContext]
MAX_EXPORT_ROWS = 100_000  # a CSV download holds every matching row, up to this many


async def owned_domain(db_session: DbSession, principal: Principal, name: str) -> SendingDomain:
    """The domain, if the principal's account owns it; other accounts' domains do not exist (404)."""
    domain = await service.get_domain(db_session, name)
    ensure_account_access(principal, domain.account_id, "sending domain")
    return domain


def domain_view(domain: SendingDomain) -> DomainView:
    return DomainView(domain=domain.name, account_id=domain.account_id, tracking=service.domain_tracking(domain))


def suppression_view(row: RecipientSuppression) -> SuppressionView:
    return SuppressionView(id=row.id, kind=row.kind, created_at=row.created_at)


def page_of(items: list[Any], total: int, page: LimitOffset) -> OffsetPagination[Any]:
    return OffsetPagination(items=items, limit=page.limit, offset=page.offset, total=total)


class DomainController(Controller):
    path = "/api/domains"
    tags = ["tracking"]
    guards = [account_members]

    @post("/", summary="Register a sending domain for an account", responses=problems(409, 422))
    async def add(
        self, data: JSONBody[DomainCreate], request: AuthRequest, db_session: DbSession, account_id: AccountId = None
    ) -> DomainView:
        """The domain is registered for the caller's account (admins name one). A domain registered by any
        account is a 409 that does not say whose it is."""
        account = target_account(request.user, account_id)
        return domain_view(
            await service.add_domain(db_session, account_id=account, name=data.domain, actor=request.user.label)
        )

    @get("/", summary="The account's sending domains, by name")
    async def list_domains(
        self, request: AuthRequest, db_session: DbSession, page: PageParam
    ) -> OffsetPagination[DomainView]:
        """Each of the account's sending domains with its tracking settings."""
        found, total = await service.list_domains(db_session, account_scope(request.user), page)
        return page_of([domain_view(d) for d in found], total, page)

    @get("/{domain:str}/tracking", summary="A domain's tracking settings", responses=problems(404))
    async def get_tracking(self, domain: DomainName, request: AuthRequest, db_session: DbSession) -> DomainTracking:
        """Whether opens and clicks are tracked for this domain's emails; another account's domain is a 404."""
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
        """Per domain and period: opens, unique opens and clicks per link, counted raw and for humans only
        (machine opens from proxies and scanners left out)."""
        row = await owned_domain(db_session, request.user, domain)
        return await events.domain_report(db_session, row, since=period.since, until=period.until)

    @get(
        "/{domain:str}/tracking/daily",
        summary="A daily series: sent, opens, unique opens, clicks, unique clicks (raw and human) and rates",
        description="One row per UTC day in [since, until) (default: the last 30 days; at most 400 days), days "
        "without activity included. `sent` counts the emails registered that day; events count on the day they "
        "happened. Rates are unique emails opened (clicked) that day per email registered that day, null on a day "
        "nothing was registered. Human opens include Gmail's image proxy; Apple Mail Privacy Protection and "
        "scanners are machines. `format=csv` downloads the same rows.",
        responses={**export_spec(list[DailyStats]), **problems(400, 404)},
    )
    async def daily(
        self,
        domain: DomainName,
        request: AuthRequest,
        db_session: DbSession,
        period: PeriodParam,
        format: ExportFormat = "json",
    ) -> Response[Any]:
        row = await owned_domain(db_session, request.user, domain)
        days = await events.daily_series(db_session, row, since=period.since, until=period.until)
        return export_response(format, DAILY_COLUMNS, [msgspec.structs.asdict(d) for d in days], f"{row.name}-daily")

    @get(
        "/{domain:str}/tracking/links",
        summary="Clicks per destination across the domain's emails, most clicked first",
        description="Raw and human clicks, and unique clicks (emails with at least one click on the link). "
        "`format=csv` downloads every destination (up to 100,000) instead of one page.",
        responses={**export_spec(OffsetPagination[LinkClicksView]), **problems(404)},
    )
    async def links(
        self,
        domain: DomainName,
        request: AuthRequest,
        db_session: DbSession,
        period: PeriodParam,
        page: PageParam,
        format: ExportFormat = "json",
    ) -> Response[Any]:
        row = await owned_domain(db_session, request.user, domain)
        window = page if format == "json" else LimitOffset(limit=MAX_EXPORT_ROWS, offset=0)
        found, total = await events.link_clicks(db_session, row, since=period.since, until=period.until, page=window)
        if format == "json":
            return Response(page_of(found, total, page))
        return export_response(
            "csv", LINK_COLUMNS, [msgspec.structs.asdict(link) for link in found], f"{row.name}-links"
        )


class EmailController(Controller):
    path = "/api/emails"
    tags = ["tracking"]
    guards = [account_members]

    @get(
        "/",
        summary="Find registered emails: by domain, by Message-ID, by registration time",
        description="Newest first. `message_id` matches with or without its angle brackets; `since`/`until` "
        "bound the registration time.",
        responses=problems(400, 404),
    )
    async def find(
        self,
        request: AuthRequest,
        db_session: DbSession,
        period: PeriodParam,
        page: PageParam,
        domain: Annotated[str | None, QueryParameter(max_length=253, description="A sending domain")] = None,
        message_id: Annotated[
            str | None, QueryParameter(min_length=1, max_length=998, description="The Message-ID header's value")
        ] = None,
    ) -> OffsetPagination[EmailView]:
        found, total = await service.find_emails(
            db_session,
            account_id=account_scope(request.user),
            domain=domain,
            message_id=message_id,
            period=period,
            page=page,
        )
        return page_of(found, total, page)

    @post(
        "/",
        summary="Register an outgoing email; returns its bodies with tracking applied",
        description="The answer is EmailRegistered. Large bodies are rewritten, and their answer encoded, "
        "in a small pool of processes, so that they never hold up the public pixel and link routes.",
        responses={
            201: ResponseSpec(data_container=EmailRegistered, description="Registered"),
            **problems(404, 413, 422, 429),
        },
    )
    async def register(
        self, data: JSONBody[EmailCreate], request: AuthRequest, db_session: DbSession, tracking_context: Context
    ) -> Response[bytes]:
        done = await service.register_email(
            db_session, tracking_context, account_id=account_scope(request.user), data=data
        )
        return Response(done.answer, status_code=HTTP_201_CREATED, media_type=MediaType.JSON)

    @get(
        "/{email_id:int}/tracking",
        summary="An email's tracking decision and whether it still records",
        responses=problems(404),
    )
    async def get_tracking(self, email_id: RowId, request: AuthRequest, db_session: DbSession) -> EmailTracking:
        """The email's tracking decision at registration (tracked, or why not: domain setting, suppression,
        opt-out) and whether opens and clicks still record now."""
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
        summary="An email's opens and clicks, oldest first, with the client class of each",
        responses=problems(404),
    )
    async def events(
        self, email_id: RowId, request: AuthRequest, db_session: DbSession, page: PageParam
    ) -> OffsetPagination[EventView]:
        """Each recorded open and click of the email with its instant, link and client class (human, proxy,
        scanner, bot); never an address or a user agent."""
        await service.get_email(db_session, email_id, account_scope(request.user))
        found, total = await events.email_events(db_session, email_id, page)
        return page_of(found, total, page)


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
        """The address or recipient domain is never tracked again in this account: opens and clicks of
        emails registered for it are not rewritten and not recorded. Stored as a keyed hash."""
        row = await service.add_suppression(
            db_session,
            tracking_context,
            account_id=target_account(request.user, account_id),
            recipient=data.recipient,
            actor=request.user.label,
        )
        return suppression_view(row)

    @get("/", summary="The account's suppressions, oldest first (hashed: the addresses are not shown)")
    async def list_suppressions(
        self, request: AuthRequest, db_session: DbSession, page: PageParam, account_id: AccountId = None
    ) -> OffsetPagination[SuppressionView]:
        """Suppressed addresses and recipient domains are kept as keyed hashes; the list shows their kind
        and when they were added, not the address."""
        found, total = await service.list_suppressions(db_session, target_account(request.user, account_id), page)
        return page_of([suppression_view(r) for r in found], total, page)

    @delete("/{suppression_id:uuid}", status_code=HTTP_200_OK, summary="Remove a suppression", responses=problems(404))
    async def remove(
        self, suppression_id: FromPath[UUID], request: AuthRequest, db_session: DbSession
    ) -> SuppressionRemoved:
        """Tracking applies again to the address or domain; another account's suppression is a 404."""
        await service.remove_suppression(
            db_session, suppression_id=suppression_id, account_id=account_scope(request.user), actor=request.user.label
        )
        return SuppressionRemoved(removed=True)


class RecipientController(Controller):
    """Data-subject requests about one recipient of the account's emails."""

    path = "/api/recipients"
    tags = ["tracking"]
    guards = [account_members]

    @post(
        "/erase",
        status_code=HTTP_200_OK,
        summary="Erase one recipient's tracking data from the account's emails (audited)",
        description="Removes the recipient's hashes, events and tracked links from every email record of the "
        "account that was sent to this address, and stops recording those emails (hits still on their way "
        "included). The records stay, anonymous. A suppression of the address, if any, stays. Idempotent: "
        "a second request finds nothing left.",
        responses=problems(400, 422),
    )
    async def erase(
        self,
        data: JSONBody[RecipientErase],
        request: AuthRequest,
        db_session: DbSession,
        tracking_context: Context,
        account_id: AccountId = None,
    ) -> RecipientErased:
        return await service.erase_recipient(
            db_session,
            tracking_context,
            account_id=target_account(request.user, account_id),
            recipient=data.recipient,
            actor=request.user.label,
        )


class TrackingOverviewController(Controller):
    """Staff see email tracking across every account (members see their own domains' reports)."""

    path = "/api/tracking"
    tags = ["email tracking"]
    guards = [auditors]

    @get(
        "/overview",
        summary="Every sending domain's opens and clicks in a period (staff)",
        description="Domains by name, paginated (`limit` default 100), each as `/api/domains/{d}/tracking/report` "
        "answers it: raw and human-only counts; `since`/`until` bound when the events happened (default: always).",
        responses=problems(400),
    )
    async def overview(
        self, db_session: DbSession, page: PageParam, period: PeriodParam
    ) -> OffsetPagination[DomainReport]:
        found, total = await events.overview(db_session, page, since=period.since, until=period.until)
        return OffsetPagination(items=found, limit=page.limit, offset=page.offset, total=total)
