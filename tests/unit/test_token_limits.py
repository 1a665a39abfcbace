"""The bounds an id_token keeps before it is parsed or stored: JSON depth, sizes, ids."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lti_tool.lti.claims import CLAIM_AGS, CLAIM_CONTEXT, CLAIM_CUSTOM
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.token_limits import (
    MAX_JSON_DEPTH,
    check_stored_claims,
    decode_segment,
    json_depth_exceeds,
)


def segment(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def test_depth_counts_brackets_outside_strings() -> None:
    assert not json_depth_exceeds('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')
    assert not json_depth_exceeds("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert json_depth_exceeds("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert not json_depth_exceeds(r'{"a": "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')


def test_a_normal_segment_decodes() -> None:
    assert decode_segment(segment('{"alg": "RS256", "kid": "k1"}')) == {
        "alg": "RS256",
        "kid": "k1",
    }


@pytest.mark.parametrize(
    "text",
    [
        '{"a":' + "[" * 50_000 + "]" * 50_000 + "}",
        "[1, 2]",
        "not json",
    ],
    ids=["deep", "array", "text"],
)
def test_bad_segments_are_malformed_tokens(text: str) -> None:
    with pytest.raises(LaunchRejected) as err:
        decode_segment(segment(text))
    assert err.value.code == "malformed_token"


def test_a_long_header_is_refused_before_decoding() -> None:
    with pytest.raises(LaunchRejected) as err:
        decode_segment(segment('{"kid": "' + "k" * 5000 + '"}'), max_chars=4096)
    assert err.value.code == "malformed_token"


@pytest.mark.parametrize(
    "body",
    [
        {CLAIM_CUSTOM: {"blob": "x" * 1_000_000}},
        {CLAIM_AGS: {"lineitems": "https://lms/" + "a" * 9000}},
        {"sub": "s" * 256},
        {CLAIM_CONTEXT: {"id": "c" * 256}},
    ],
    ids=["custom", "ags", "sub", "context.id"],
)
def test_oversized_stored_claims_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(LaunchRejected) as err:
        check_stored_claims(body)
    assert err.value.code == "claim_too_large"


def test_ordinary_claims_pass() -> None:
    check_stored_claims(
        {
            "sub": "s" * 255,
            CLAIM_CUSTOM: {"pathwise_module": "sql-basics", "note": "x" * 1000},
            CLAIM_CONTEXT: json.loads('{"id": "c1", "title": "AI at Work"}'),
        }
    )
