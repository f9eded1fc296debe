"""The whole class of issue 14 §2, from the OpenAPI document: every GET's integer path/query parameter
given 2**63 and every string parameter given 5,000 characters is a 4xx (or a 2xx), never a 5xx."""

from __future__ import annotations

import re
from typing import Any

HUGE = str(2**63)
LONG = "x" * 5000


def _kind(parameter: dict[str, Any]) -> str | None:
    schema = parameter.get("schema", {})
    types: set[str] = set()
    for one in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
        kind = one.get("type")
        types |= set(kind) if isinstance(kind, list) else {kind}
    if "integer" in types:
        return "integer"
    if "string" in types and "enum" not in schema:
        return "string"
    return None


def _requests(document: dict[str, Any]) -> list[str]:
    """One URL per (GET operation, odd parameter); path parameters not under test get a plain value."""
    urls = []
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None or not path.startswith(("/api", "/governance", "/journey", "/auth")):
            continue
        parameters = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
        plain = {p["name"]: ("1" if _kind(p) == "integer" else "a") for p in parameters if p["in"] == "path"}
        for parameter in parameters:
            kind = _kind(parameter)
            if kind is None:
                continue
            odd = HUGE if kind == "integer" else LONG
            values = plain | ({parameter["name"]: odd} if parameter["in"] == "path" else {})
            url = path.format_map({name: values.get(name, "a") for name in re.findall(r"\{(\w+)\}", path)})
            if parameter["in"] == "query":
                url += f"?{parameter['name']}={odd}"
            urls.append(url)
    return urls


def test_no_parameter_of_any_get_is_a_5xx_when_huge_or_long(client, login_as):
    login_as("admin", "privacy_staff", "auditor")
    urls = _requests(client.get("/schema/openapi.json").json())
    assert len(urls) > 20  # the walk found the route table, not an empty document

    failures = {url[:160]: status for url in urls if (status := client.get(url).status_code) >= 500}

    assert failures == {}
