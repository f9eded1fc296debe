"""JSON nesting is bounded on the decoded value: strings never count, however many brackets they hold."""

from __future__ import annotations

import json

import msgspec
import pytest

from governance.core.errors import BadRequest
from governance.core.requests import check_json_depth, decode_bounded


def test_brackets_in_strings_do_not_count():
    html = '<style>a{b:c}</style><!--[if mso]>{{x}}[[y]]<![endif]-->\\"[{' * 1000
    body = json.dumps({"html": html, "list": [[["deep enough"]]]}).encode()
    check_json_depth(json.loads(body), body, limit=4)


@pytest.mark.parametrize(
    "body",
    [b"[" * 5 + b"]" * 5, b'{"a": "x\\"", "b": [[[[[1]]]]]}', b'["\\\\", [[[[[1]]]]]]', b'[{"a": [{"b": [1]}]}]'],
)
def test_nesting_past_the_limit_is_refused(body: bytes):
    with pytest.raises(BadRequest, match="nested more than 4 levels"):
        check_json_depth(json.loads(body), body, limit=4)


@pytest.mark.parametrize("body", [b"[" * 4 + b"]" * 4, b'{"a": {"b": [[1, 2], [3]]}}', b'[1, "x", {"a": []}]', b"7"])
def test_nesting_up_to_the_limit_passes(body: bytes):
    check_json_depth(json.loads(body), body, limit=4)


def test_nesting_past_the_decoders_recursion_is_a_400_not_a_recursion_error():
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(BadRequest, match="nested more than 32 levels"):
        decode_bounded(lambda: msgspec.json.decode(body))


def test_a_long_flat_array_is_not_walked():
    deep = [*range(2_000), [[[[[1]]]]]]  # not this body's value: its bracket count alone says it cannot nest past 4
    check_json_depth(deep, b"[1, 2, 3]", limit=4)
    with pytest.raises(BadRequest):
        check_json_depth(deep, limit=4)
