"""The depth check before JSON is decoded: brackets inside strings never count, escapes included."""

from __future__ import annotations

import json

import pytest

from governance.core.errors import BadRequest
from governance.core.requests import check_json_depth


def test_brackets_in_strings_do_not_count():
    html = '<style>a{b:c}</style><!--[if mso]>{{x}}[[y]]<![endif]-->\\"[{' * 1000
    check_json_depth(json.dumps({"html": html, "list": [[["deep enough"]]]}).encode(), limit=4)


def test_an_escaped_quote_does_not_end_a_string():
    check_json_depth(json.dumps({"a": 'say \\" [[[[[[' + '"' * 3}).encode(), limit=2)


@pytest.mark.parametrize("body", [b"[" * 5 + b"]" * 5, b'{"a": "x\\"", "b": [[[[[1]]]]]}', b'["\\\\", [[[[[1]]]]]]'])
def test_nesting_past_the_limit_is_refused(body: bytes):
    with pytest.raises(BadRequest, match="nested more than 4 levels"):
        check_json_depth(body, limit=4)
