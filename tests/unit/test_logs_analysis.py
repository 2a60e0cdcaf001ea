"""Analysis frames: error classes, stack signatures, templates, counts, new-since-onset, pod_logs records."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import pyarrow as pa

from irlib.logs import analysis as A
from irlib.logs.readers import read_lines
from irlib.logs.records import ParseOptions, records_table, to_frame
from irlib.logs.templates import extract_params, mask_message, mine

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
T0 = pd.Timestamp("2024-05-01T10:00:00Z")


def records(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    """rows: (minutes after T0, level, message)."""
    return pd.DataFrame({
        "timestamp": [T0 + pd.Timedelta(minutes=m) for m, _, _ in rows], "source": "app",
        "line_no": range(1, len(rows) + 1), "level": [lv for _, lv, _ in rows], "logger": "",
        "message": [msg for _, _, msg in rows], "format": "generic", "time_parsed": True, "decode_error": False,
    })


def load(rel: str) -> pd.DataFrame:
    lines, _ = read_lines(FIX / rel)
    return to_frame(records_table(lines, rel, ParseOptions(reference=T0)))


def test_error_classes_of_every_kind() -> None:
    frame = records([
        (0, "ERROR", "Exception in thread main java.lang.OutOfMemoryError: Java heap space"),
        (1, "ERROR", "java.lang.OutOfMemoryError: Java heap space"),
        (2, "ERROR", "KeyError: 'user_id'"),
        (3, "WARN", '10.0.0.1 - - "GET /api HTTP/1.1" 503 12 "-" "curl"'),
        (4, "ERROR", "dial tcp 10.0.0.9:5432: connect: connection refused (ECONNREFUSED)"),
        (5, "ERROR", "ERROR:  deadlock detected SQLSTATE 40P01"),
        (6, "INFO", "all good"),
    ])
    out = A.error_classes(frame)
    got = {(r.error_class, r.kind): r.count for r in out.itertuples()}
    assert got[("java.lang.OutOfMemoryError", "exception")] == 2
    assert got[("KeyError", "exception")] == 1
    assert got[("HTTP 503", "http")] == 1
    assert got[("ECONNREFUSED", "errno")] == 1
    assert got[("40P01", "sqlstate")] == 1
    oom = out[out["error_class"] == "java.lang.OutOfMemoryError"].iloc[0]
    assert oom["first_seen"] == T0 and oom["last_seen"] == T0 + pd.Timedelta(minutes=1)
    assert out.iloc[0]["error_class"] == "java.lang.OutOfMemoryError"  # most frequent first
    assert str(out["count"].dtype) == "Int64" and str(out["first_seen"].dtype) == "datetime64[ns, UTC]"


def test_errno_from_phrase_and_empty_frames_keep_columns() -> None:
    out = A.error_classes(records([(0, "ERROR", "open(/data/x) failed: No space left on device")]))
    assert out["error_class"].tolist() == ["ENOSPC"]
    empty = A.error_classes(records([(0, "INFO", "fine")]))
    assert list(empty.columns) == ["error_class", "kind", "count", "first_seen", "last_seen", "example"]
    assert len(empty) == 0


JAVA_TRACE = """Request failed
java.lang.IllegalStateException: pool exhausted (size={n})
\tat com.example.db.Pool.borrow(Pool.java:{line})
\tat com.example.db.Repo.lambda$find$0(Repo.java:88)
\tat com.example.api.Handler.get(Handler.java:40)
Caused by: java.net.SocketTimeoutException: timeout
\tat java.net.Socket.connect(Socket.java:1)"""


def test_stack_signatures_group_traces_that_differ_only_in_numbers() -> None:
    frame = records([(0, "ERROR", JAVA_TRACE.format(n=10, line=12)), (1, "ERROR", JAVA_TRACE.format(n=20, line=99)),
                     (2, "INFO", "no trace here\njust two lines")])
    frame = pd.concat([frame, load("lnav/log2src_python-example.0")], ignore_index=True)
    out = A.stack_signatures(frame, top_frames=2)
    java = out[out["exception"] == "java.lang.IllegalStateException"].iloc[0]
    assert java["count"] == 2
    assert java["signature"] == ("java.lang.IllegalStateException @ com.example.db.Pool.borrow < "
                                 "com.example.db.Repo.lambda$find")
    assert "\tat com.example.api.Handler.get" in java["example"]
    py = out[out["exception"] == "ZeroDivisionError"].iloc[0]
    assert py["count"] == 1 and py["signature"].startswith("ZeroDivisionError @ ")


def test_templates_mask_variables_and_never_mix_levels() -> None:
    frame = records([(i, "INFO", f"user {u} logged in from 10.0.0.{i}") for i, u in enumerate(["ann", "bob", "cy"])]
                    + [(5, "ERROR", "user dan logged in from 10.0.0.9")])
    out = A.templates(frame)
    assert len(out) == 2
    info = out[out["level"] == "INFO"].iloc[0]
    assert info["template"] == "user <*> logged in from <*>" and info["count"] == 3
    assert out[out["level"] == "ERROR"].iloc[0]["count"] == 1
    assigned = A.assign_templates(frame)
    assert assigned["params"].tolist()[0] == ["ann", "10.0.0.0"]
    assert assigned["template_id"].nunique() == 2


def test_template_counts_per_bucket() -> None:
    frame = records([(0, "INFO", "tick 1"), (0, "INFO", "tick 2"), (1, "INFO", "tick 3")])
    out = A.template_counts(frame, bucket="1min")
    assert out["count"].tolist() == [2, 1]
    assert out["timestamp"].tolist() == [T0, T0 + pd.Timedelta(minutes=1)]
    assert out["template_id"].nunique() == 1


def test_new_since_ranks_new_then_surging() -> None:
    rows = [(m, "INFO", f"heartbeat {m}") for m in range(0, 60)]
    rows += [(m, "WARN", f"slow query took {m} ms") for m in (5, 30, 61, 62, 63, 64, 65, 66)]
    rows += [(m, "ERROR", f"connection pool exhausted after {m} s") for m in (61, 62, 63)]
    out = A.new_since(records(rows), onset=T0 + pd.Timedelta(minutes=60))
    assert out.iloc[0]["template"] == "connection pool exhausted after <*> s" and bool(out.iloc[0]["is_new"])
    assert out.iloc[0]["rate_ratio"] == float("inf")
    slow = out[out["template"] == "slow query took <*> ms"].iloc[0]
    assert slow["before_count"] == 2 and slow["after_count"] == 6 and slow["rate_ratio"] > 1
    assert "heartbeat <*>" not in out["template"].tolist()  # stopped after onset: not rising
    assert list(out.columns) == ["template_id", "template", "level", "before_count", "after_count",
                                 "before_rate_per_min", "after_rate_per_min", "rate_ratio", "is_new"]


def test_top_errors_only_severe() -> None:
    frame = records([(0, "INFO", "ok"), (1, "ERROR", "boom 1"), (2, "ERROR", "boom 2"), (3, "WARN", "meh")])
    out = A.top_errors(frame, limit=5)
    assert out["level"].tolist() == ["ERROR", "WARN"] and out["count"].tolist() == [2, 1]


def test_records_from_pod_logs_frame_join_traces_and_use_k8s_time() -> None:
    py = (FIX / "lnav" / "log2src_python-example.0").read_text(encoding="utf-8").splitlines()
    plain = ["starting worker", "Traceback (most recent call last):", '  File "w.py", line 3, in <module>',
             "ValueError: bad"]
    pod_logs = pd.DataFrame({
        "timestamp": [T0 + pd.Timedelta(seconds=i) for i in range(len(py) + len(plain))],
        "pod": ["api-1"] * len(py) + ["worker-1"] * len(plain), "container": "main", "previous": False,
        "line": py + plain, "decode_error": False,
    })
    out = A.records_from_lines(pod_logs)
    api = out[out["source"] == "api-1/main/False"]
    worker = out[out["source"] == "worker-1/main/False"]
    assert len(api) == 5 and api["level"].tolist()[-1] == "ERROR"
    assert api.iloc[0]["timestamp"] == pd.Timestamp("2025-09-26T21:12:39.384Z")  # embedded header wins
    # no headers: a traceback joins the line before it (as logging.exception writes them)
    assert worker["message"].tolist() == ["\n".join(plain)]
    assert worker.iloc[0]["timestamp"] == T0 + pd.Timedelta(seconds=len(py))  # k8s time as fallback
    assert A.error_classes(out)["error_class"].tolist().count("ValueError") == 1


def test_masking_in_bulk_equals_masking_one_by_one() -> None:
    samples = (FIX / "loghub" / "Android_head100.log").read_text(encoding="utf-8").splitlines()
    samples += ["blk_-1608999687919862906 10.251.31.5:50010 0x1F uuid 123e4567-e89b-12d3-a456-426614174000"]
    from irlib.logs.templates import mask_messages
    assert mask_messages(pa.array(samples)).to_pylist() == [mask_message(s) for s in samples]


def test_extract_params_for_partial_tokens() -> None:
    assert extract_params("took <*>ms on node-<*>", "took 15ms on node-7") == ["15", "7"]


def test_miner_accuracy_on_openssh_corrected_ground_truth() -> None:
    truth = pd.read_csv(FIX / "loghub" / "OpenSSH_2k.log_structured_corrected.csv", dtype=str,
                        keep_default_na=False)
    mined = mine(pa.array(truth["Content"].tolist()), pa.array([""] * len(truth)))
    frame = pd.DataFrame({"t": truth["EventTemplate"], "p": mined.row_template.to_pylist()})
    tsize, psize = frame.groupby("t").size(), frame.groupby("p").size()
    right = sum(n for (p, t), n in frame.groupby(["p", "t"]).size().items() if n == psize[p] == tsize[t])
    assert right / len(frame) >= 0.95  # Drain3 with its tuned OpenSSH settings scores 0.789 here


def test_one_record_gives_one_error_class_the_exception_type_first() -> None:
    frame = records([
        (0, "ERROR", "ConnectionResetError: [Errno 104] Connection reset by peer"),
        (1, "ERROR", "requests.exceptions.ConnectionError: read ECONNRESET"),
        (2, "ERROR", "org.postgresql.util.PSQLException: ERROR: deadlock detected"),
        (3, "ERROR", "upstream failed: ECONNRESET, returned HTTP/1.1\" 502"),
        (4, "ERROR", "read ECONNRESET"),
    ])
    out = A.error_classes(frame)
    got = {(r.error_class, r.kind): r.count for r in out.itertuples()}
    assert got == {("ConnectionResetError", "exception"): 1, ("requests.exceptions.ConnectionError", "exception"): 1,
                   ("org.postgresql.util.PSQLException", "exception"): 1, ("ECONNRESET", "errno"): 2}
    assert int(out["count"].sum()) == len(frame)  # every failing record counted once


def test_new_since_counts_a_template_first_seen_just_before_a_late_onset_as_new() -> None:
    onset = T0 + pd.Timedelta(minutes=30)
    rows = [(m, "INFO", f"heartbeat {m}") for m in range(0, 40)]
    rows += [(m, "ERROR", f"connection pool exhausted after {m} s") for m in (30, 31, 32)]
    frame = records(rows)
    early = records([(0, "ERROR", "connection pool exhausted after 7 s")])
    early["timestamp"] = onset - pd.Timedelta(seconds=5)  # the logs show it 5 s before the metrics' onset
    frame = pd.concat([frame, early], ignore_index=True)
    out = A.new_since(frame, onset=onset)
    pool = out[out["template"] == "connection pool exhausted after <*> s"].iloc[0]
    assert bool(pool["is_new"]) and pool["rate_ratio"] == float("inf")
    assert pool["before_count"] == 1 and pool["after_count"] == 3
    assert out.iloc[0]["template"] == pool["template"]  # new ones first
    strict = A.new_since(frame, onset=onset, tolerance=None)
    assert not bool(strict[strict["template"] == pool["template"]].iloc[0]["is_new"])
    older = early.assign(timestamp=onset - pd.Timedelta(minutes=5))  # well before: not new
    out = A.new_since(pd.concat([records(rows), older], ignore_index=True), onset=onset)
    assert not bool(out[out["template"] == pool["template"]].iloc[0]["is_new"])


def _json_records(objs: list[dict[str, object]]) -> pd.DataFrame:
    import json

    from irlib.logs.readers import decode_lines
    data = "".join(json.dumps(o) + "\n" for o in objs).encode()
    return to_frame(records_table(decode_lines(data), "app.json", ParseOptions(reference=T0)))


PY_TB = ('Traceback (most recent call last):\n  File "/app/api.py", line {n}, in handler\n    1/0\n'
         'ZeroDivisionError: division by zero')
JAVA_TB = ("java.lang.IllegalStateException: pool exhausted\n\tat com.example.db.Pool.borrow(Pool.java:{n})\n"
           "\tat com.example.api.Handler.get(Handler.java:40)")
NODE_TB = ("Error: connect ECONNREFUSED 10.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] "
           "(node:net:{n}:16)\n    at async Pool.connect (/app/node_modules/pg-pool/index.js:45:11)")
GO_TB = "main.handler\n\t/app/main.go:{n}\nnet/http.HandlerFunc.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:2136"


@pytest.mark.parametrize("make, exception", [
    (lambda n: {"levelname": "ERROR", "message": "request failed", "exc_info": PY_TB.format(n=n)}, "ZeroDivisionError"),
    (lambda n: {"event": "request failed", "level": "error", "exception": PY_TB.format(n=n)}, "ZeroDivisionError"),
    (lambda n: {"level": "ERROR", "message": "request failed", "stack_trace": JAVA_TB.format(n=n)},
     "java.lang.IllegalStateException"),
    (lambda n: {"log.level": "error", "message": "request failed",
                "error": {"type": "IllegalStateException", "stack_trace": JAVA_TB.format(n=n)}},
     "java.lang.IllegalStateException"),
    (lambda n: {"log.level": "error", "message": "request failed", "error.stack_trace": JAVA_TB.format(n=n)},
     "java.lang.IllegalStateException"),
    (lambda n: {"level": 50, "msg": "request failed", "err": {"type": "Error", "message": "connect ECONNREFUSED",
                                                                 "stack": NODE_TB.format(n=n)}}, "Error"),
    (lambda n: {"level": "error", "msg": "request failed", "stack": NODE_TB.format(n=n)}, "Error"),
    (lambda n: {"level": "error", "msg": "request failed", "stacktrace": GO_TB.format(n=n)}, ""),
    (lambda n: {"level": "error", "event": "request failed", "exception": [
        {"exc_type": "ZeroDivisionError", "exc_value": "division by zero",
         "frames": [{"filename": "/app/api.py", "lineno": n, "name": "handler"}]}]}, "ZeroDivisionError"),
])
def test_json_records_with_a_stack_trace_field_are_grouped_as_stack_traces(make, exception) -> None:  # noqa: ANN001
    frame = _json_records([make(10), {"level": "info", "msg": "ok"}, make(99)])
    assert frame["message"].tolist()[0].startswith("request failed\n")
    out = A.stack_signatures(frame)
    assert len(out) == 1 and out.iloc[0]["count"] == 2, out
    assert out.iloc[0]["exception"] == exception
    assert A.templates(frame)["template"].tolist()[0] == "request failed"  # the first line still names the record


def test_json_stack_field_that_is_no_trace_or_repeats_the_message_adds_nothing() -> None:
    frame = _json_records([{"level": "error", "msg": "failed", "exc_info": True},
                           {"level": "error", "msg": "failed\n" + PY_TB.format(n=1), "exc_info": PY_TB.format(n=1)}])
    assert frame["message"].tolist() == ["failed", "failed\n" + PY_TB.format(n=1)]


def test_records_without_any_readable_time_are_summarised_not_refused() -> None:
    frame = records([(0, "ERROR", "KeyError: 'x'"), (1, "ERROR", "KeyError: 'x'")])
    frame["timestamp"] = pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns, UTC]")
    for out in (A.error_classes(frame), A.templates(frame)):
        assert out["count"].tolist()[0] == 2 and out["first_seen"].isna().all()
        assert str(out["first_seen"].dtype) == "datetime64[ns, UTC]"
