"""Formats on real samples: headers, levels, loggers, multi-line records, JSON dialects, docker partial lines."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from irlib.errors import QueryError
from irlib.logs.readers import read_lines
from irlib.logs.records import RECORDS_SCHEMA, ParseOptions, records_table, to_frame

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
REF = pd.Timestamp("2025-11-05T00:00:00Z")


def load(rel: str, **kw: object) -> tuple[pd.DataFrame, list[str]]:
    lines, _ = read_lines(FIX / rel, encoding=kw.pop("encoding", None))  # type: ignore[arg-type]
    options = ParseOptions(reference=kw.pop("reference", REF), **kw)  # type: ignore[arg-type]
    return to_frame(records_table(lines, Path(rel).name, options)), options.notes


def test_frame_has_the_documented_schema() -> None:
    frame, _ = load("lnav/logfile_java.0")
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "timestamp": "datetime64[ns, UTC]", "source": "string", "line_no": "Int64", "level": "string",
        "logger": "string", "message": "string", "format": "string", "time_parsed": "boolean",
        "decode_error": "boolean"}
    assert list(frame.columns) == list(RECORDS_SCHEMA)


def test_python_logging_multiline_messages_and_traceback_are_joined() -> None:
    frame, notes = load("lnav/log2src_python-example.0")
    assert notes == []
    assert frame["line_no"].tolist() == [1, 2, 4, 6, 7]
    assert frame["level"].tolist() == ["DEBUG", "INFO", "WARN", "ERROR", "ERROR"]
    assert frame.loc[1, "message"] == "info message:\nprocessing started -- log_example.py"
    trace = frame.loc[4, "message"]
    assert trace.startswith("exception message: caught unexpected error\nTraceback (most recent call last):")
    assert trace.rstrip().endswith("ZeroDivisionError: division by zero")
    assert frame["time_parsed"].all()


def test_vdsm_python_traceback_is_one_record() -> None:
    frame, _ = load("lnav/logfile_vdsm.0")
    err = frame[frame["level"] == "ERROR"].iloc[0]
    assert err["line_no"] == 2 and err["logger"] == "MainThread"
    assert err["message"].count("\n") == 11 and "libvirtError: Failed to connect socket" in err["message"]
    assert err["timestamp"] == pd.Timestamp("2011-12-05T07:04:56.300Z")


def test_java_logback_levels_loggers_and_times() -> None:
    frame, _ = load("lnav/logfile_java.0")
    assert len(frame) == 20 and frame["time_parsed"].all()
    assert frame.loc[0, "logger"] == "Version" and frame.loc[0, "level"] == "INFO"
    assert frame.loc[0, "message"] == "HV000001: Hibernate Validator 8.0.1.Final"


def test_mixed_zones_in_one_file() -> None:
    frame, _ = load("lnav/logfile_with_zones.0")
    assert frame["timestamp"].tolist() == [pd.Timestamp("2022-08-27T14:22:01.613Z"),
                                           pd.Timestamp("2022-08-27T14:22:01.694554Z"),
                                           pd.Timestamp("2022-08-27T14:22:01.888Z")]


def test_syslog_without_year_takes_it_from_the_reference_and_dst_zone() -> None:
    # The sample is from 2013, when US DST ended on 3 November: 01:00-01:59 local happened twice.
    frame, _ = load("lnav/logfile_dst.0", timezone="America/Los_Angeles",
                    reference=pd.Timestamp("2013-11-04T00:00:00Z"))
    assert frame["format"].iloc[0] == "syslog" and frame["time_parsed"].all()
    assert frame.loc[0, "logger"] == "syslogd[634]" and frame.loc[0, "message"] == "ASL Sender Statistics"
    assert frame.loc[0, "timestamp"] == pd.Timestamp("2013-11-03T08:01:03Z")  # PDT
    assert frame.loc[5, "timestamp"] == pd.Timestamp("2013-11-03T09:24:56Z")  # PST, after the change
    assert frame["timestamp"].is_monotonic_increasing


def test_epoch_milliseconds() -> None:
    frame, _ = load("lnav/logfile_epoch.0")
    assert frame["timestamp"].tolist() == [pd.Timestamp("2015-04-10T02:58:07.123Z"),
                                           pd.Timestamp("2015-04-10T02:58:07.456Z")]
    assert frame["message"].tolist() == ["Hello, World!", "Goodbye, World!"]


def test_nanosecond_fractions() -> None:
    frame, _ = load("lnav/logfile_generic_nanos.0")
    assert frame.loc[0, "timestamp"] == pd.Timestamp("2025-01-01T00:00:00.123456789Z")
    assert frame.loc[1, "level"] == "WARN"


def test_glog_levels_from_letters() -> None:
    frame, _ = load("lnav/logfile_glog.0")
    assert frame["format"].iloc[0] == "glog"
    assert frame["level"].tolist()[:4] == ["ERROR", "INFO", "INFO", "WARN"]
    assert frame.loc[0, "logger"] == "logging_unittest.cc:253"


def test_invalid_utf8_record_is_flagged_and_kept() -> None:
    frame, _ = load("lnav/logfile_invalid_utf8.0")
    assert len(frame) == 1 and bool(frame.loc[0, "decode_error"])
    assert frame.loc[0, "message"].count("\n") == 5


@pytest.mark.parametrize("rel, level, logger, message", [
    ("lnav/logfile_json.json", "TRACE", "com.example.foo.bar.bazzer", "trace test"),
    ("lnav/logfile_bunyan.0", "DEBUG", "renovate", "Found gitlabci-include package files"),
    ("lnav/logfile_pino.0", "INFO", "", "Charge request received."),
    ("lnav/logfile_ecs_log.json", "DEBUG", "app", "this is a debug message num=39"),
    ("lnav/logfile_otel_collector.jsonl", "INFO", "com.example.payment", "Processing payment request"),
    ("lnav/logfile_journald.json", None, "python", "GPS Reference longitude: 7.358143333"),
])
def test_json_dialects(rel: str, level: str | None, logger: str, message: str) -> None:
    frame, _ = load(rel)
    first = frame.iloc[0]
    if level is not None:
        assert first["level"] == level
    assert first["logger"] == logger and first["message"] == message
    assert bool(first["time_parsed"])


def test_otel_export_line_yields_several_records() -> None:
    frame, _ = load("lnav/logfile_otel_collector.jsonl")
    assert len(frame) > 6 and frame["line_no"].tolist()[:3] == [1, 1, 1]
    assert set(frame["level"]) >= {"INFO", "WARN", "ERROR"}


def test_logfmt_keeps_other_fields() -> None:
    frame, _ = load("lnav/logfile_logfmt.0")
    assert frame.loc[0, "level"] == "ERROR"
    assert frame.loc[0, "message"].startswith("error retrieving pod status: pod inc-1-enh-domain-c14-ns-2/")
    assert "namespace=inc-1-enh-domain-c14-ns-2" in frame.loc[0, "message"]


def test_postgres_zone_abbreviation_and_levels() -> None:
    frame, _ = load("lnav/logfile_postgres.0")
    assert frame.loc[0, "timestamp"] == pd.Timestamp("2025-08-13T08:45:01.123Z")
    assert frame.loc[0, "level"] == "INFO"
    assert "ERROR" in set(frame["level"]) or "FATAL" in set(frame["level"])


def test_mysql_error_log() -> None:
    frame, _ = load("lnav/logfile_mysql_error.0")
    assert frame["level"].tolist() == ["INFO", "WARN", "INFO", "INFO"]


def test_access_log_level_from_status() -> None:
    frame, _ = load("lnav/logfile_access_log.0")
    assert frame["format"].iloc[0] == "access"
    assert frame["level"].tolist() == ["INFO", "WARN", "INFO"]
    assert frame.loc[0, "timestamp"] == pd.Timestamp("2009-07-20T22:59:26Z")


def test_nginx_error_log_multiline_fastcgi_record() -> None:
    frame, _ = load("nginx/nginx_error.log")
    assert frame["level"].eq("ERROR").all()
    multi = frame[frame["message"].str.contains("\n")]
    assert len(multi) == 1 and multi.iloc[0]["message"].count("PHP message:") == 3


@pytest.mark.parametrize("rel, joined", [
    ("fluent-bit/dockermode_splitted_line.log", ["2020-03-24 Single line", "2020-03-24 Another single line"]),
    ("fluent-bit/dockermode.log", ["Single log", "Second log", "Third log"]),
])
def test_docker_partial_lines_are_joined(rel: str, joined: list[str]) -> None:
    frame, _ = load(rel)
    assert frame["format"].eq("docker").all()
    assert frame["message"].tolist() == joined


@pytest.mark.parametrize("system, fmt, level", [
    ("HDFS", "generic", "INFO"), ("Hadoop", "generic", "INFO"), ("Spark", "generic", "INFO"),
    ("Zookeeper", "generic", "INFO"), ("Linux", "syslog", ""), ("OpenSSH", "syslog", ""),
    ("Android", "android", "DEBUG"), ("BGL", "bgl", "INFO"), ("HPC", "hpc", ""), ("Apache", "generic", "INFO"),
])
def test_loghub_headers_are_detected_and_timed(system: str, fmt: str, level: str) -> None:
    frame, notes = load(f"loghub/{system}_head100.log")
    assert frame["format"].iloc[0] == fmt
    assert len(frame) == 100 and frame["time_parsed"].all(), notes
    assert frame.loc[0, "level"] == level


def test_unknown_format_is_a_query_error() -> None:
    with pytest.raises(QueryError, match="unknown log format"):
        load("lnav/logfile_java.0", fmt="cobol")


def test_unparseable_times_are_counted_in_notes() -> None:
    frame, notes = load("lnav/logfile_json.json")
    unread = int((~frame["time_parsed"]).sum())
    assert unread >= 1 and any(f"{unread} record time{'' if unread == 1 else 's'} could not be read" in n for n in notes)
    assert frame.loc[~frame["time_parsed"], "timestamp"].isna().all()


def test_json_stream_with_runtime_tracebacks_between_records_is_still_json() -> None:
    """http.server prints tracebacks to stderr between the app's JSON records: they are continuation lines."""
    from irlib.logs.formats import detect_format

    record = '{"time": "2026-12-03T18:22:01.000Z", "level": "ERROR", "message": "request failed: QueryCanceled"}'
    trace = ["----------------------------------------",
             "Exception occurred during processing of request from ('127.0.0.1', 41440)",
             "Traceback (most recent call last):",
             '  File "/usr/lib/python3.11/socketserver.py", line 691, in process_request_thread',
             "    self.finish_request(request, client_address)",
             "ConnectionResetError: [Errno 104] Connection reset by peer",
             "----------------------------------------"]
    assert detect_format([record, *trace, record, *trace, record]) == "json"


def test_postgres_detail_hint_and_statement_lines_stay_with_their_error() -> None:
    frame, _ = load("lnav/logfile_postgres.0")
    error = frame[frame["level"] == "ERROR"].iloc[0]
    assert error["message"].startswith('relation "nonexistent_table" does not exist')
    assert "\nSTATEMENT:  SELECT * FROM nonexistent_table;" in error["message"]
    assert not frame["message"].str.startswith("SELECT * FROM nonexistent_table").any()


def test_postgres_detail_lines_join_in_bulk() -> None:
    from irlib.logs.readers import decode_lines
    from irlib.logs.records import ParseOptions, records_table, to_frame

    text = ("2026-12-04 10:00:00.100 UTC [77] ERROR:  duplicate key value violates unique constraint \"orders_pkey\"\n"
            "2026-12-04 10:00:00.100 UTC [77] DETAIL:  Key (id)=(42) already exists.\n"
            "2026-12-04 10:00:00.100 UTC [77] HINT:  Retry with another id.\n"
            "2026-12-04 10:00:00.100 UTC [77] STATEMENT:  INSERT INTO orders VALUES (42)\n"
            "2026-12-04 10:00:01.000 UTC [78] LOG:  checkpoint starting: time\n")
    frame = to_frame(records_table(decode_lines(text.encode()), "pg", ParseOptions()))
    assert frame["level"].tolist() == ["ERROR", "INFO"]
    assert frame.loc[0, "message"].split("\n") == [
        'duplicate key value violates unique constraint "orders_pkey"', "DETAIL:  Key (id)=(42) already exists.",
        "HINT:  Retry with another id.", "STATEMENT:  INSERT INTO orders VALUES (42)"]
    assert frame["line_no"].tolist() == [1, 5]
