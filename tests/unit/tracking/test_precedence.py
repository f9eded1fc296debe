"""The most restrictive level wins: recipient suppression > domain setting > the email's own choice."""

import itertools

import pytest

from tracking.service import decide

DOMAIN = (True, False)
EMAIL = (None, True, False)  # None: no preference
SUPPRESSION = (None, "recipient_address", "recipient_domain")


def expected(domain_allows, requested, suppressed_by):
    if suppressed_by:
        return False, suppressed_by
    if not domain_allows:
        return False, "domain"
    if requested is False:
        return False, "email"
    return True, "email" if requested else "domain"


@pytest.mark.parametrize(
    ("domain_allows", "requested", "suppressed_by"), list(itertools.product(DOMAIN, EMAIL, SUPPRESSION))
)
def test_every_combination_takes_the_most_restrictive_level(domain_allows, requested, suppressed_by):
    decision = decide(domain_allows=domain_allows, requested=requested, suppressed_by=suppressed_by)

    assert (decision.enabled, decision.decided_by) == expected(domain_allows, requested, suppressed_by)
    # asking for more than allowed is not an error, but it is recorded
    assert decision.overridden == (requested is True and not decision.enabled)


def test_an_email_can_always_ask_for_less():
    assert decide(domain_allows=True, requested=False, suppressed_by=None).enabled is False
