"""The OpenAPI document is valid, and fuzzing it finds no 5xx and no answer it does not describe.

Bounded: a few examples per operation (FUZZ_EXAMPLES), unauthenticated and as an admin, on each
engine. The checks are the ones that compare a response with the document: status code, content type,
headers and body schema, plus "not a server error".
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Signing out would end the admin session the rest of the run relies on; it is tested on its own.
KEEP_SIGNED_IN = {("POST", "/auth/logout")}


def test_the_document_is_valid_openapi(openapi_document):
    validate(openapi_document)
    assert openapi_document["openapi"].startswith("3.1")
    assert len(openapi_document["paths"]) > 30  # a positive control: the document is the app's, not empty


def test_every_operation_is_described_with_its_errors_and_security(openapi_document):
    for path, item in openapi_document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            assert operation.get("description"), f"{where} has no description"
            assert "security" in operation, f"{where} does not say who may call it"
            errors = {status for status in operation["responses"] if status.startswith(("4", "5"))}
            if operation["security"] != [{}]:
                assert "401" in errors, f"{where} is authenticated but documents no 401"


def fuzz(server, headers: dict[str, str] | None = None) -> list[str]:
    """Every operation, EXAMPLES generated cases each; the failures, one line per operation."""
    schema = schemathesis.openapi.from_url(server.url_for("/schema/openapi.json"))
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if headers and (operation.method.upper(), operation.path) in KEEP_SIGNED_IN:
            continue

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(case=operation.as_strategy())
        def call(case):
            case.call_and_validate(checks=CHECKS, headers=headers, timeout=30)

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (collect every failure, report them all)
            failures.append(f"{operation.method.upper()} {operation.path}: {_described(exc)}")
    return failures


def _described(exc: BaseException) -> str:
    found = getattr(exc, "exceptions", None) or [exc]  # a FailureGroup lists one failure per check
    described = (f"{getattr(e, 'title', type(e).__name__)}: {getattr(e, 'message', e)}" for e in found)
    return "; ".join(" ".join(text.split())[:300] for text in described)


def test_fuzzing_as_a_stranger_finds_no_5xx_and_nothing_undocumented(fuzzed_server, admin_headers):
    # The admin signs in first: the stranger's fuzzing of /auth/login uses up the login rate limit.
    failures = fuzz(fuzzed_server)
    assert not failures, "\n".join(failures)


def test_fuzzing_as_an_admin_finds_no_5xx_and_nothing_undocumented(fuzzed_server, admin_headers):
    failures = fuzz(fuzzed_server, admin_headers)
    assert not failures, "\n".join(failures)
