"""Allowlist sources: where a guard gets the declarations in force, and their compiled form.

A source is any `async () -> Allowlist | None` callable. Anything with `number`,
`content_hash` and `declarations` is an allowlist, so a `PolicySnapshot` is one as it is.
`None` means no policy is in force: the guard then has nothing to enforce against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from policy_docs import cache as policy_cache
from policy_docs.schemas import Declaration, DeclarationKind

if TYPE_CHECKING:
    from litestar.datastructures import State


class Allowlist(Protocol):
    @property
    def number(self) -> int | None:  # the policy version, when the allowlist comes from one
        ...

    @property
    def content_hash(self) -> str:  # identifies the declarations: compiled matchers are cached by it
        ...

    @property
    def declarations(self) -> list[Declaration]: ...


AllowlistSource = Callable[[], Awaitable["Allowlist | None"]]


class StaticAllowlist(msgspec.Struct, frozen=True):
    declarations: list[Declaration]
    content_hash: str
    number: int | None = None


def static_source(declarations: Iterable[Declaration], number: int | None = None) -> AllowlistSource:
    """A fixed allowlist: for services without a policy database, tests and benchmarks."""
    items = list(declarations)
    digest = hashlib.sha256(msgspec.json.encode(items)).hexdigest()
    allowlist = StaticAllowlist(declarations=items, content_hash=digest, number=number)

    async def current() -> Allowlist | None:
        return allowlist

    return current


def policy_source(state: State) -> AllowlistSource:
    """The version in force, from the policy domain's in-process cache (`state["policy_cache"]`)."""

    async def current() -> Any:
        cache = state.get(policy_cache.STATE_KEY)
        return None if cache is None else await cache.current()

    return current


class CompiledAllowlist:
    """Declarations of one kind, indexed for the hot path: exact names first, then longest prefix."""

    __slots__ = ("exact", "prefixes")

    def __init__(self, declarations: Iterable[Declaration], kind: DeclarationKind) -> None:
        mine = [d for d in declarations if d.kind == kind]
        self.exact = {d.name: d for d in mine if d.match == "exact"}
        self.prefixes = sorted((d for d in mine if d.match == "prefix"), key=lambda d: -len(d.name))

    def find(self, name: str) -> Declaration | None:
        found = self.exact.get(name)
        if found is not None:
            return found
        for declaration in self.prefixes:
            if name.startswith(declaration.name):
                return declaration
        return None
