"""The report intake under a flood: one page cannot silence the others, and what it drops is counted."""

import pytest

from governance.enforcement import intake
from governance.enforcement.controllers import DROPS_STATE_KEY
from governance.enforcement.plugin import WRITER_STATE_KEY
from tests.integration.enforcement.test_endpoints import REPORT, beacon, violations


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """Every request of a test falls in one rate-limit window."""
    monkeypatch.setattr(intake, "now", lambda: 1_800_000_030.0)


def flush(client):
    for key in (WRITER_STATE_KEY, DROPS_STATE_KEY):
        client.blocking_portal.call(client.app.state[key].flush)


def dropped(client, login_as):
    login_as("auditor")
    response = client.get("/api/violations/dropped")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_page_flooding_one_report_does_not_silence_another_pages_reports(client, db, login_as):
    flood = {**REPORT, "page": "https://mailssetu.in/loop", "name": "loop_key"}
    other = {**REPORT, "page": "https://app.mailssetu.in/settings", "name": "other_key"}

    flooding = [beacon(client, flood).status_code for _ in range(intake.PER_ITEM + 20)]
    later = beacon(client, other)

    assert flooding[: intake.PER_ITEM] == [204] * intake.PER_ITEM and set(flooding[intake.PER_ITEM :]) == {429}
    assert later.status_code == 204  # same client address, another page: still heard
    flush(client)
    counts = {v.name: v.count for v in violations(db)}
    assert counts == {"loop_key": intake.PER_ITEM, "other_key": 1}
    [row] = dropped(client, login_as)["items"]
    assert (row["rule"], row["page_origin"], row["kind"], row["name"], row["count"]) == (
        "item", "https://mailssetu.in", "local_storage", "loop_key", 20,
    )  # fmt: skip


def test_a_client_inventing_names_hits_its_own_limit_and_only_a_count_is_kept(client, db, login_as):
    statuses = [beacon(client, {**REPORT, "name": f"invented_{i}"}).status_code for i in range(intake.PER_CLIENT + 5)]

    assert statuses[: intake.PER_CLIENT] == [204] * intake.PER_CLIENT and set(statuses[intake.PER_CLIENT :]) == {429}
    refused = beacon(client, {**REPORT, "name": "invented_x"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "from this client" in refused.json()["detail"]
    flush(client)
    [row] = dropped(client, login_as)["items"]
    assert (row["rule"], row["page_origin"], row["name"], row["count"]) == ("client", "", "", 6)


def test_clients_behind_a_trusted_proxy_have_allowances_of_their_own(client_via, db):
    client = client_via("10.1.2.3", trusted_proxies=("10.0.0.0/8",))

    first = [
        beacon(client, {**REPORT, "name": f"n{i}"}, **{"X-Forwarded-For": "203.0.113.7"}).status_code
        for i in range(intake.PER_CLIENT + 1)
    ]
    second = beacon(client, {**REPORT, "name": "n_other"}, **{"X-Forwarded-For": "203.0.113.8"})

    assert first[-1] == 429 and second.status_code == 204


def test_an_untrusted_peers_forwarded_for_is_ignored(client, db):
    spoofed = [
        beacon(client, {**REPORT, "name": f"n{i}"}, **{"X-Forwarded-For": f"198.51.100.{i % 250}"}).status_code
        for i in range(intake.PER_CLIENT + 1)
    ]

    assert spoofed[-1] == 429  # every request is the same client: the header changes nothing


def test_the_dropped_counts_are_for_auditors_only(client, db, login_as):
    assert client.get("/api/violations/dropped").status_code == 401
    login_as("member", account="acme")
    assert client.get("/api/violations/dropped").status_code == 403
