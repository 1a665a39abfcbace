"""xAPI timestamps: every spelling an LRS sends parses to the same UTC instant."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies

from xapi.core.formats import parse_timestamp

MOMENTS = strategies.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2999, 12, 31)
)
OFFSETS = strategies.integers(min_value=-14 * 60, max_value=14 * 60)


@given(MOMENTS, OFFSETS, strategies.sampled_from(["Z", "z", "offset"]))
def test_spellings_of_one_instant_agree(
    naive: dt.datetime, minutes: int, suffix: str
) -> None:
    zone = dt.UTC if suffix != "offset" else dt.timezone(dt.timedelta(minutes=minutes))
    moment = naive.replace(tzinfo=zone)
    text = moment.isoformat()
    if suffix != "offset":
        text = text.replace("+00:00", suffix)
    expected = moment.astimezone(dt.UTC)
    assert parse_timestamp(text) == expected
    # Spaces around it and nanosecond fractions take the normalising path.
    assert parse_timestamp(f" {text} ") == expected
    if moment.microsecond:
        nanos = text.replace(
            f".{moment.microsecond:06d}", f".{moment.microsecond:06d}789"
        )
        assert parse_timestamp(nanos) == expected


@pytest.mark.parametrize(
    "value",
    [None, 12, "", "2026-12-02", "2026-12-02T10:00:00", "2025-02-30T00:00:00Z", "soon"],
)
def test_no_instant_without_a_valid_date_and_offset(value: object) -> None:
    assert parse_timestamp(value) is None
