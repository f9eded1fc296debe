"""Done when: version 2, published with an effective date in the future, takes over exactly then."""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from tests.integration.policy_docs.helpers import draft_with_theme_cookie, publish

# Times relative to the real clock: session JWTs are checked (Litestar's token module, PyJWT) on real
# time (freezegun ignores both: msgspec caches the token's `datetime` type, and a FakeDatetime
# would then fail to decode), so a token issued under the frozen clock must not be "from the future".
PUBLISHED_AT = datetime.now(UTC).replace(microsecond=0)
SWITCH = PUBLISHED_AT + timedelta(hours=3)
JUST_BEFORE = SWITCH - timedelta(microseconds=1)
REAL_TIME_FOR = ["litestar.security.jwt.token", "jwt"]


def frozen_at(moment: datetime):
    return freeze_time(moment, real_asyncio=True, ignore=REAL_TIME_FOR)


def what_is_in_force(client) -> tuple[bool, int, set[str]]:
    """(page mentions ms_theme, /api/policy/current number, inventory names)."""
    page = client.get("/cookie-policy")
    current = client.get("/api/policy/current")
    inventory = client.get("/api/inventory", params={"format": "json"})
    assert page.status_code == current.status_code == inventory.status_code == 200
    return "ms_theme" in page.text, current.json()["number"], {row["name"] for row in inventory.json()}


def test_a_scheduled_version_switches_page_api_and_inventory_at_its_instant(client, login_as):
    with frozen_at(PUBLISHED_AT) as clock:
        headers = login_as("privacy_staff")
        draft = draft_with_theme_cookie(client, headers)
        response = publish(client, headers, draft["id"], effective_from=SWITCH.isoformat())
        assert response.status_code == 201, response.text
        assert response.json()["number"] == 2

        assert what_is_in_force(client) == (
            False,
            1,
            {
                "ms_access",
                "ms_csrf",
                "__next_locale",
                "ms_journey_visitor_id",
                "ms_journey_session_id",
                "ms_journey_first_touch",
            },
        )

        clock.move_to(JUST_BEFORE)
        on_page, number, names = what_is_in_force(client)
        assert (on_page, number, "ms_theme" in names) == (False, 1, False)

        clock.move_to(SWITCH)
        on_page, number, names = what_is_in_force(client)
        assert (on_page, number, "ms_theme" in names) == (True, 2, True)


def test_at_shows_the_version_in_force_at_any_instant(client, login_as):
    with frozen_at(PUBLISHED_AT):
        headers = login_as("privacy_staff")
        draft = draft_with_theme_cookie(client, headers)
        assert publish(client, headers, draft["id"], effective_from=SWITCH.isoformat()).status_code == 201

        assert "ms_theme" in client.get("/cookie-policy", params={"at": (SWITCH + timedelta(days=1)).isoformat()}).text
        assert "ms_theme" not in client.get("/cookie-policy", params={"at": "2026-06-01T00:00:00+05:30"}).text
        assert client.get("/api/policy/current", params={"at": SWITCH.isoformat()}).json()["number"] == 2
        versions = client.get("/api/policy/versions").json()
        assert [(v["number"], v["status"]) for v in versions] == [(2, "scheduled"), (1, "in_force")]
