"""A client that sends its body slowly holds no database connection, and is cut off at the deadline."""

from __future__ import annotations

import asyncio
import time

import httpx

from governance.app import create_app
from tests.conftest import base_settings

POOL = 15  # SQLAlchemy's default: 5 connections + 10 overflow


def trickle(chunks: int, pause: float):
    async def body():
        for _ in range(chunks):
            await asyncio.sleep(pause)
            yield b" "

    return body()


async def serve(app, work):
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        return await work(client)


def test_a_body_that_does_not_arrive_in_time_is_a_408(db, tmp_path):
    app = create_app(base_settings(db.url, body_timeout_seconds=0.3, spool_dir=str(tmp_path)))

    async def slow_login(client):
        started = time.monotonic()
        headers = {"Content-Type": "application/json"}
        response = await client.post("/auth/login", content=trickle(50, 0.1), headers=headers)
        return response, time.monotonic() - started

    response, took = asyncio.run(serve(app, slow_login))

    assert response.status_code == 408 and response.headers["content-type"] == "application/problem+json"
    assert "did not arrive within 0.3 s" in response.json()["detail"]
    assert took < 3  # cut off near the deadline, not after the whole 5 s trickle


def test_slow_bodies_with_a_valid_api_key_hold_no_database_connection(db, tmp_path):
    """More slow requests than the pool has connections: the service still answers /health and the API."""
    key = db.create_api_key("acme")
    app = create_app(base_settings(db.url, body_timeout_seconds=5, spool_dir=str(tmp_path)))

    async def flood(client):
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        slow = [
            asyncio.create_task(client.post("/api/emails", content=trickle(15, 0.1), headers=headers))
            for _ in range(POOL + 5)
        ]
        await asyncio.sleep(0.5)  # every slow request is authenticated and waiting for its body
        health = await client.get("/health")
        domains = await client.get("/api/domains", headers={"Authorization": f"Bearer {key}"})
        answered_while_waiting = not any(task.done() for task in slow)  # not after the slow ones let go
        finished = await asyncio.gather(*slow)
        return health, domains, answered_while_waiting, finished

    health, domains, answered_while_waiting, finished = asyncio.run(serve(app, flood))

    assert health.status_code == 200 and domains.status_code == 200 and answered_while_waiting
    assert {r.status_code for r in finished} == {400}  # a body of spaces, judged once it arrived
