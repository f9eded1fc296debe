"""The request class of the app: JSON bodies are bounded in depth before they are decoded.

msgspec decodes nested JSON recursively: a body of 1,000 nested arrays raised RecursionError (a 500)
on every public POST. No body of this API nests deeper than a few levels.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request

from governance.core.errors import BadRequest, FieldError

MAX_JSON_DEPTH = 32
# Strings (skipped, each in one run: an HTML body is full of `{` and `[`) and brackets.
_STRUCTURE = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[\[\]{}]', re.DOTALL)


def check_json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """A 400 for JSON nested deeper than `limit`; linear, and free for bodies with few brackets."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return
    depth = 0
    for token in _STRUCTURE.finditer(body):
        first = token.group()[:1]
        if first in (b"[", b"{"):
            depth += 1
            if depth > limit:
                problem = f"JSON nested more than {limit} levels deep"
                raise BadRequest(problem, errors=[FieldError(None, problem)])
        elif first in (b"]", b"}"):
            depth -= 1


class BoundedRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        check_json_depth(await self.body())
        return await super().json()
