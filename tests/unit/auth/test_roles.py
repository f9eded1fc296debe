"""Which role combinations a user may hold."""

import uuid

import pytest

from auth.service import validate_roles
from governance.core.errors import Invalid


def test_staff_roles_combine_and_need_no_account():
    assert validate_roles(["auditor", "privacy_staff"], None) == ["auditor", "privacy_staff"]


@pytest.mark.parametrize(
    ("roles", "account"),
    [
        (["member"], None),  # a member needs an account
        (["auditor"], uuid.uuid4()),  # staff are not tied to an account
        (["member", "admin"], uuid.uuid4()),  # no mixing
        (["machine"], None),  # reserved for API keys
        (["root"], None),
        ([], None),
    ],
)
def test_invalid_role_sets_are_refused(roles, account):
    with pytest.raises(Invalid):
        validate_roles(roles, account)
