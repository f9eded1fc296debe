"""Slow clients on real sockets, against the app under granian: more slow uploads than the database
pool has connections, each authenticated with a valid API key and sending its body a byte at a
time. The service keeps answering, and each upload is cut off with a 408 at the body deadline."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.integration.tracking.servers import Server, environment

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
SLOW_UPLOADS = 20  # the pool holds 15 (5 + 10 overflow)
DEADLINE_SECONDS = 1


async def slow_upload(port: int, api_key: str) -> bytes:
    """Headers at once, then a byte of body every 100 ms for far longer than the deadline."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /api/emails HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {api_key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode()
    )
    try:
        for _ in range(100):
            writer.write(b" ")
            await writer.drain()
            try:
                return await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout=0.1)  # the status line
            except TimeoutError:
                continue
        return b"no answer"
    finally:
        writer.close()


def test_slow_uploads_on_real_sockets_are_cut_off_while_the_service_answers(db, settings, tmp_path):
    key = db.create_api_key("acme")
    env = environment(settings, db.url, tmp_path / "spool") | {"MS_BODY_TIMEOUT_SECONDS": str(DEADLINE_SECONDS)}
    server = Server(env, tmp_path)

    async def flood() -> tuple[list[int | bool], list[bytes]]:
        uploads = [asyncio.create_task(slow_upload(server.port, key)) for _ in range(SLOW_UPLOADS)]
        await asyncio.sleep(0.5)  # every upload is authenticated and waiting for its body
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            answered = [
                (await client.get("/health")).status_code,
                (await client.get("/api/domains", headers={"Authorization": f"Bearer {key}"})).status_code,
                not any(upload.done() for upload in uploads),  # answered while every upload still waited
            ]
        return answered, await asyncio.gather(*uploads)

    try:
        answered, status_lines = asyncio.run(flood())
    finally:
        server.stop()

    assert answered == [200, 200, True]
    assert status_lines == [b"HTTP/1.1 408 Request Timeout\r\n"] * SLOW_UPLOADS  # before the body was complete
