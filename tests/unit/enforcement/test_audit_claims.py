"""The claims file: every claim of the seed policy is in the policy, and bad files are refused."""

from __future__ import annotations

import pytest

from governance.enforcement.audit import policy_from_snapshot
from governance.enforcement.audit.claims import ClaimsError, load_claims, normalized
from tests.e2e.audit_pages import seed_snapshot


def test_every_claim_stands_in_the_section_it_names():
    sections = policy_from_snapshot(seed_snapshot(), "seed").sections
    assert sections is not None
    claims = load_claims()

    assert {c.check for c in claims} >= {
        "audit:vendors",
        "audit:beacons",
        "audit:geolocation",
        "declarations:http_only",
        "manual",
    }
    for claim in claims:
        assert normalized(claim.text) in normalized(sections[claim.section]), claim.id


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('[[claims]]\nid = "a"\nsection = "s"\ntext = "t"\ncheck = "audit:mind-reading"\n', "audit:mind-reading"),
        ('[[claims]]\nid = "a"\nsection = "s"\ntext = "t"\ncheck = "declarations:http_only"\n', "names no cookies"),
        ('[[claims]]\nid = "a"\nsection = "s"\ntext = "t"\ncheck = "manual"\n' * 2, "duplicate claim ids ['a']"),
        ('[[claims]]\nid = "a"\nsection = "s"\ntext = "t"\ncheck = "manual"\nseverity = 3\n', "severity"),
        ("[[claims]\n", "claims.toml"),
    ],
)
def test_a_malformed_claims_file_is_refused_with_its_problem(tmp_path, body, problem):
    path = tmp_path / "claims.toml"
    path.write_text(body)

    with pytest.raises(ClaimsError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        load_claims(path)
