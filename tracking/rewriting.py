"""Rewriting an email's bodies off the event loop, so a large email never delays the public routes.

`rewrite_html`/`rewrite_text` are pure and CPU-bound (compiled, but calling Python for each link's
token): in a thread they would still hold the GIL the event loop needs (bench/bench_tracking_routes.py
measures both), so large emails go to a small pool of processes. So does the other per-byte work of the answer: its JSON (the rewritten bodies,
megabytes of them) is encoded where the rewriting ran, and the event loop only passes bytes on.
Inputs and outputs are plain strings, lists and bytes; the signing keys reach each process once,
when it starts. Small emails are rewritten in place: below INLINE_CHARS the work takes less time
than the round trip to a process. This module imports no database code: a pool process starts light.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import msgspec

from governance.core.errors import Busy, FieldError, Invalid
from tracking.rewrite import LinkRules, SkippedLink, rewrite_html, rewrite_text
from tracking.schemas import EmailRegistered, EmailTracking, SkippedLinkView
from tracking.tokens import TokenSigner

_answers = msgspec.json.Encoder()

INLINE_CHARS = 64_000  # about 0.2 ms of rewriting and signing (bench/bench_rewrite.py: ~350 MB/s)
QUEUED_PER_PROCESS = 4  # large emails waiting for a process, at most, before registrations get a 429
POOL_NICENESS = 10  # CPU weight about a tenth of the worker's when both want it


def pixel_url(signer: TokenSigner, base_url: str, email_id: int) -> str:
    return f"{base_url}/t/o/{signer.sign_open(email_id)}.gif"


def click_url(signer: TokenSigner, base_url: str, email_id: int, link_index: int, destination: str) -> str:
    return f"{base_url}/t/c/{signer.sign_click(email_id, link_index, destination)}"


@dataclass(frozen=True)
class RewriteJob:
    """One email's bodies, what to apply to them, and its tracking decision (echoed in the answer)."""

    email_id: int
    html: str | None
    text: str | None
    track_opens: bool
    track_clicks: bool
    track_text_links: bool
    tracking: EmailTracking
    rules: LinkRules = field(default_factory=LinkRules)

    @property
    def size(self) -> int:
        return len(self.html or "") + len(self.text or "")


@dataclass(frozen=True)
class RewriteOutcome:
    links: list[tuple[str, str]]  # (part, destination); the position is the link index
    answer: bytes  # the EmailRegistered JSON: bodies with tracking applied, links skipped and why


def no_nul(field: str) -> Invalid:
    return Invalid(
        f"{field} must not contain NUL characters", errors=[FieldError(field, "must not contain NUL characters")]
    )


def rewrite_email(job: RewriteJob, signer: TokenSigner, base_url: str) -> RewriteOutcome:
    """Clicks tracked in the HTML part, then in the text part (link indexes run across both), the
    pixel before `</body>`; nothing for a kind that is off. Returns the links and the answer."""
    for part, body in (("html", job.html), ("text", job.text)):
        if body and "\x00" in body:  # no email holds one (RFC 5322), and PostgreSQL text cannot
            raise no_nul(part)
    links: list[tuple[str, str]] = []

    def tracker(part: str) -> Callable[[str], str]:
        def track(destination: str) -> str:
            links.append((part, destination))
            return click_url(signer, base_url, job.email_id, len(links) - 1, destination)

        return track

    html, text = job.html, job.text
    skipped: list[SkippedLink] = []
    if job.html is not None:
        result = rewrite_html(
            job.html,
            track_link=tracker("html") if job.track_clicks else None,
            pixel_url=pixel_url(signer, base_url, job.email_id) if job.track_opens else None,
            rules=job.rules,
        )
        html, skipped = result.body, skipped + result.skipped
    if job.text is not None and job.track_clicks and job.track_text_links:
        result = rewrite_text(job.text, track_link=tracker("text"), rules=job.rules)
        text, skipped = result.body, skipped + result.skipped
    answer = EmailRegistered(
        id=job.email_id,
        tracking=job.tracking,
        html=html,
        text=text,
        links_tracked=len(links),
        links_skipped=[SkippedLinkView(url=s.url, reason=s.reason) for s in skipped],
    )
    return RewriteOutcome(links=links, answer=_answers.encode(answer))


# --- inside a pool process -------------------------------------------------------------------------

_signing: tuple[TokenSigner, str] | None = None


def _start_pool_process(keys: tuple[tuple[str, bytes], ...], base_url: str) -> None:
    # Rewriting is batch work beside latency-bound routes: on a busy host the workers' event loops
    # get the CPU first.
    os.nice(POOL_NICENESS)
    _start_process(keys, base_url)


def _start_process(keys: tuple[tuple[str, bytes], ...], base_url: str) -> None:
    global _signing  # noqa: PLW0603  (one per process, set once when it starts)
    _signing = (TokenSigner(keys), base_url)


def _rewrite_in_process(job: RewriteJob) -> RewriteOutcome:
    assert _signing is not None, "the pool's initializer sets the signing keys"
    return rewrite_email(job, *_signing)


# --- in the app ------------------------------------------------------------------------------------


class Rewriter:
    """Runs `rewrite_email` in place for small emails, in `processes` processes for large ones
    (0: in one worker thread instead). At most `processes` large emails are rewritten at once and
    QUEUED_PER_PROCESS per process wait; past that, registering is a 429 with Retry-After."""

    def __init__(self, keys: tuple[tuple[str, bytes], ...], base_url: str, processes: int) -> None:
        self._keys, self.base_url = keys, base_url
        self.signer = TokenSigner(keys)
        self.processes = processes
        self._executor: Executor | None = None
        self._running: asyncio.Semaphore | None = None
        self._waiting = 0

    async def rewrite(self, job: RewriteJob) -> RewriteOutcome:
        if job.size <= INLINE_CHARS:
            return rewrite_email(job, self.signer, self.base_url)
        width = max(1, self.processes)
        if self._waiting >= width * (1 + QUEUED_PER_PROCESS):
            raise Busy("too many large emails are being rewritten; retry shortly", retry_after=1)
        if self._running is None:
            self._running = asyncio.Semaphore(width)
        self._waiting += 1
        try:
            async with self._running:
                return await self._off_the_loop(job)
        finally:
            self._waiting -= 1

    async def _off_the_loop(self, job: RewriteJob) -> RewriteOutcome:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), _rewrite_in_process, job)
        except BrokenProcessPool:  # a process died (killed, out of memory): one more try on a fresh pool
            self._executor = None
            return await loop.run_in_executor(self._pool(), _rewrite_in_process, job)

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.processes == 0:
                _start_process(self._keys, self.base_url)
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rewrite")
            else:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),  # never fork a process running an event loop
                    initializer=_start_pool_process,
                    initargs=(self._keys, self.base_url),
                )
        return self._executor

    async def close(self) -> None:
        executor, self._executor, self._running = self._executor, None, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)
