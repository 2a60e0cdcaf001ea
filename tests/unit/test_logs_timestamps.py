"""Timestamps into one UTC column: offsets, Z, epochs, yearless syslog, DST, mixed fractions; nothing silent."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from irlib.logs.timestamps import parse_timestamp, parse_timestamps

REF = pd.Timestamp("2022-11-05T00:00:00Z")


@pytest.mark.parametrize("text, expected", [
    ("2022-08-27T14:22:01.613Z", "2022-08-27T14:22:01.613Z"),
    ("2022-08-27T17:22:01.694554+03:00", "2022-08-27T14:22:01.694554Z"),
    ("2022-08-27 17:22:01+0300", "2022-08-27T14:22:01Z"),
    ("2012-07-02 10:22:40,672", "2012-07-02T10:22:40.672Z"),
    ("2025-01-01 00:00:00.123456789", "2025-01-01T00:00:00.123456789Z"),
    ("2025-08-13 01:45:01.123 PDT", "2025-08-13T08:45:01.123Z"),
    ("Sun Dec 04 04:47:44 2005", "2005-12-04T04:47:44Z"),
    ("10/Oct/2000:13:55:36 -0700", "2000-10-10T20:55:36Z"),
    ("081109 203615", "2008-11-09T20:36:15Z"),
    ("17/06/09 20:10:40", "2017-06-09T20:10:40Z"),
    ("2005-06-03-15.42.50.675872", "2005-06-03T15:42:50.675872Z"),
    ("1428634687", "2015-04-10T02:58:07Z"),
    ("1428634687123", "2015-04-10T02:58:07.123Z"),
    ("1428634687123456", "2015-04-10T02:58:07.123456Z"),
    ("1700000000000000000", "2023-11-14T22:13:20Z"),
    ("Nov  3 09:23:38", "2022-11-03T09:23:38Z"),
])
def test_known_shapes_read_as_utc(text: str, expected: str) -> None:
    assert parse_timestamp(text, reference=REF) == pd.Timestamp(expected)


def test_yearless_time_after_the_reference_belongs_to_the_year_before() -> None:
    assert parse_timestamp("Dec 31 23:59:59", reference=REF) == pd.Timestamp("2021-12-31T23:59:59Z")


def test_yearless_time_without_reference_is_unread_not_guessed() -> None:
    assert parse_timestamp("Nov  3 09:23:38") is pd.NaT


def test_mixed_zones_and_fractions_in_one_column() -> None:
    texts = pa.array(["2022-08-27T14:22:01.613Z", "2022-08-27T17:22:01.694554+03:00", "2022-08-27T14:22:02Z",
                      "not a time", None])
    out = parse_timestamps(texts).to_pylist()
    assert [pd.Timestamp(v).isoformat() if v else None for v in out] == [
        "2022-08-27T14:22:01.613000+00:00", "2022-08-27T14:22:01.694554+00:00", "2022-08-27T14:22:02+00:00",
        None, None]


def test_local_times_across_a_dst_change_stay_in_order() -> None:
    # US DST ended 2022-11-06 02:00 local: 01:30 happens twice.
    texts = pa.array(["Nov  6 00:50:00", "Nov  6 01:30:00", "Nov  6 01:59:00", "Nov  6 01:10:00", "Nov  6 02:30:00"])
    out = [pd.Timestamp(v) for v in parse_timestamps(texts, reference=REF + pd.Timedelta(days=2),
                                                     timezone="America/New_York").to_pylist()]
    assert out[1] == pd.Timestamp("2022-11-06T05:30:00Z")
    assert out[3] == pd.Timestamp("2022-11-06T06:10:00Z")  # second 01:xx is EST
    assert out == sorted(out)


def test_unparseable_stays_null() -> None:
    out = parse_timestamps(pa.array(["2022-13-45 99:99:99", "yesterday", ""]))
    assert out.null_count == 3
