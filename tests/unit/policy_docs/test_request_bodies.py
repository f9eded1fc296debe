"""Every request body of the policy routes: typos are refused at every depth, and every value is bounded."""

import msgspec
import msgspec.inspect as mi
import pytest

from governance.core.params import MAX_ID
from policy_docs.schemas import DraftCreate, DraftPatch, PublishRequest, WithdrawRequest

BODIES = [DraftCreate, DraftPatch, PublishRequest, WithdrawRequest]


def walk(info: mi.Type, path: str):
    """(path, type info) of everything a body can hold."""
    yield path, info
    if isinstance(info, mi.StructType):
        for field in info.fields:
            yield from walk(field.type, f"{path}.{field.name}")
    elif isinstance(info, mi.UnionType):
        for member in info.types:
            yield from walk(member, path)
    elif isinstance(info, mi.ListType):
        yield from walk(info.item_type, f"{path}[]")


@pytest.mark.parametrize("body", BODIES, ids=lambda b: b.__name__)
def test_every_struct_in_a_body_refuses_unknown_fields(body):
    structs = [
        (path, info) for path, info in walk(mi.type_info(body), body.__name__) if isinstance(info, mi.StructType)
    ]

    assert structs  # control: the walk sees the body itself
    assert [path for path, info in structs if not info.forbid_unknown_fields] == []


@pytest.mark.parametrize("body", BODIES, ids=lambda b: b.__name__)
def test_every_integer_string_and_list_in_a_body_is_bounded(body):
    found = list(walk(mi.type_info(body), body.__name__))

    unbounded_ints = [p for p, i in found if isinstance(i, mi.IntType) and (i.le is None or i.le > MAX_ID)]
    unbounded_strings = [p for p, i in found if isinstance(i, mi.StrType) and i.max_length is None]
    unbounded_lists = [p for p, i in found if isinstance(i, mi.ListType) and i.max_length is None]
    assert (unbounded_ints, unbounded_strings, unbounded_lists) == ([], [], [])


def test_version_numbers_and_revisions_fit_their_integer_columns():
    with pytest.raises(msgspec.ValidationError, match=r"\$\.based_on"):
        msgspec.convert({"based_on": 2**31}, DraftCreate)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.expected_revision"):
        msgspec.convert({"expected_revision": 2**63}, DraftPatch)
    assert msgspec.convert({"based_on": 2**31 - 1}, DraftCreate).based_on == 2**31 - 1


def test_the_walk_reaches_deep_fields():
    paths = {path for path, _ in walk(mi.type_info(DraftPatch), "DraftPatch")}

    assert {"DraftPatch.upsert_declarations[].duration.seconds", "DraftPatch.contact[].label"} <= paths
