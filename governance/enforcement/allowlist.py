"""Allowlist sources: where a guard gets the declarations in force, and their compiled form.

A source is any `async () -> Allowlist | None` callable. Anything with `number`,
`content_hash` and `declarations` is an allowlist, so a `PolicySnapshot` is one as it is.
`None` means no policy is in force: the guard then has nothing to enforce against.

`Deployment` is what this deployment enables: a declaration that `requires` a mode the
deployment does not enable (token-in-body) is left out of everything it enforces and exports.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import msgspec

from governance.core.clock import utcnow
from policy_docs import cache as policy_cache
from policy_docs.schemas import Declaration, DeclarationKind, PolicySnapshot

if TYPE_CHECKING:
    from litestar.datastructures import State

    from governance.core.settings import Settings


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


@dataclass(frozen=True)
class Deployment:
    """The modes this deployment enables, and the names it gives conditional items."""

    token_in_body: bool = False
    token_key: str = ""  # the token-in-body key's name; empty: as declared

    @classmethod
    def of(cls, settings: Settings) -> Deployment:
        return cls(token_in_body=settings.token_in_body, token_key=settings.token_in_body_key)

    def declarations(self, declarations: Iterable[Declaration]) -> list[Declaration]:
        return [self._named(d) for d in declarations if d.requires != "token_in_body" or self.token_in_body]

    def _named(self, declaration: Declaration) -> Declaration:
        if declaration.requires == "token_in_body" and self.token_key:
            return msgspec.structs.replace(declaration, name=self.token_key)
        return declaration

    def snapshot(self, snapshot: PolicySnapshot) -> PolicySnapshot:
        """The version as this deployment applies it (the same object when nothing is conditional)."""
        declarations = self.declarations(snapshot.declarations)
        if declarations == snapshot.declarations:
            return snapshot
        return msgspec.structs.replace(snapshot, declarations=declarations)


FRESH_FOR = 0.1  # seconds an answer is reused; publishes elsewhere already take up to the policy cache's TTL


class PolicySource:
    """The version in force, from the policy domain's in-process cache (`state["policy_cache"]`), as
    `deployment` applies it (each published version adapted once). Called on every response that
    carries a cookie, so an answer is reused: until the next scheduled version takes effect (to the
    instant), for at most `FRESH_FOR`, and never after the policy cache is invalidated (a publish or
    withdrawal in this process, or a notification from another one).
    """

    def __init__(self, state: State, deployment: Deployment | None = None) -> None:
        self.state = state
        self.deployment = deployment or Deployment()
        self._adapted: dict[str, PolicySnapshot] = {}
        self._answer: PolicySnapshot | None = None
        self._until = 0.0  # wall-clock time (what scheduled versions are dated by) until which it holds
        self._watched: object = None

    async def __call__(self) -> PolicySnapshot | None:
        if time.time() < self._until:
            return self._answer
        return await self._look_up()

    def peek(self) -> PolicySnapshot | None:
        """The answer while it is fresh, without a coroutine (the guard's hot path); else None: call."""
        return self._answer if time.time() < self._until else None

    def forget(self) -> None:
        self._until = 0.0

    async def _look_up(self) -> PolicySnapshot | None:
        cache = self.state.get(policy_cache.STATE_KEY)
        if cache is None:
            return None
        self._watch(cache)
        now = utcnow()
        snapshot, change = await cache.at(now), await cache.next_change_after(now)
        self._answer = None if snapshot is None else self._adapt(snapshot)
        self._until = min(now.timestamp() + FRESH_FOR, change.timestamp() if change else math.inf)
        return self._answer

    def _adapt(self, snapshot: PolicySnapshot) -> PolicySnapshot:
        view = self._adapted.get(snapshot.content_hash)
        if view is None:
            view = self._adapted[snapshot.content_hash] = self.deployment.snapshot(snapshot)
        return view

    def _watch(self, cache: policy_cache.PolicyCache) -> None:
        """Forget the answer whenever the cache is invalidated. The cache has no change callback, so
        its public `invalidate` is wrapped (once per cache)."""
        if self._watched is cache:
            return
        invalidate = cache.invalidate

        def invalidate_and_forget() -> None:
            invalidate()
            self.forget()

        cache.invalidate = invalidate_and_forget  # type: ignore[method-assign]
        self._watched = cache


def policy_source(state: State, deployment: Deployment | None = None) -> AllowlistSource:
    return PolicySource(state, deployment)


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
