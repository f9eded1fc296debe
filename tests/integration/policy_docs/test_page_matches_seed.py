"""Done when: a fresh start serves /cookie-policy that reads exactly like the seed document."""

from pathlib import Path

from tests.integration.policy_docs.page_text import page_lines, seed_lines

SEED = Path(__file__).parents[2] / "fixtures" / "cookie-policy.txt"


def test_every_seed_line_appears_on_the_page_in_order(client):
    response = client.get("/cookie-policy")

    assert response.status_code == 200
    page = page_lines(response.text)
    expected = seed_lines(SEED.read_text(encoding="utf-8"))
    missing = [line for line in expected if line not in page]
    assert not missing, "lines of the seed missing from the page:\n" + "\n".join(missing)
    remaining = iter(page)  # a subsequence check: each seed line found after the previous one
    out_of_order = [line for line in expected if line not in remaining]
    assert not out_of_order, "seed lines shown out of order:\n" + "\n".join(out_of_order)


def test_the_seed_copy_in_the_tests_is_the_shared_seed():
    shared = Path(__file__).parents[4] / "shared" / "seed" / "cookie-policy.txt"
    if shared.is_file():  # the copy must not drift from the original while both exist
        assert SEED.read_text(encoding="utf-8") == shared.read_text(encoding="utf-8")
    assert len(seed_lines(SEED.read_text(encoding="utf-8"))) > 40


def test_version_one_is_seeded_once_with_the_seed_dates(client, db):
    client.get("/cookie-policy")

    assert db.scalar("SELECT count(*) FROM policy_versions") == 1
    current = client.get("/api/policy/current").json()
    assert current["number"] == 1
    assert current["effective_from"] == "2026-04-17T00:00:00Z"
    assert current["last_updated"] == "2026-05-10"
