"""Step 05's sentences: nouns and verbs agree with the counts."""
from __future__ import annotations

from irlib.steps.database import blocking_sentence


def test_blocking_sentence_singular_and_plural() -> None:
    assert blocking_sentence("shop", 1, [7]) == "shop: 1 session waits behind root blocker pid 7."
    assert blocking_sentence("shop", 3, [7, 9]) == "shop: 3 sessions wait behind root blockers pid 7, pid 9."


def test_monitoring_queries_rank_after_the_application_and_the_sentence_names_the_application() -> None:
    import pandas as pd

    from irlib.analysis.db import application_first, is_monitoring_statement
    from irlib.steps.database import statements_sentence

    top = pd.DataFrame({
        "query": ["SELECT pg_database.datname\n\t,pg_database_size(pg_database.datname) FROM pg_database",
                  "SELECT count(*) FROM audit_events WHERE note LIKE $1",
                  "SELECT *, extract($1 from now() - last_archived_time) AS age FROM pg_stat_archiver",
                  "INSERT INTO audit_events (note) SELECT $1 || i FROM generate_series($2, $3) AS i"],
        "user": ["irlib"] * 4, "calls": [388, 492, 388, 1], "total_s": [0.97, 0.94, 0.3, 0.02],
        "mean_s": [0.0025, 0.0019, 0.0008, 0.02]})
    ranked = application_first(top)
    assert list(ranked["origin"]) == ["application", "application", "monitoring", "monitoring"]
    assert ranked["query"].iloc[0].startswith("SELECT count(*) FROM audit_events")
    sentence = statements_sentence("orders", ranked)
    assert sentence.startswith("orders: the costliest application statement is SELECT count(*) FROM audit_events")
    assert "492 calls" in sentence and "2 statements of monitoring's own" in sentence
    assert is_monitoring_statement("SELECT 1", "postgres_exporter") and is_monitoring_statement("SHOW STATUS")
    assert not is_monitoring_statement('SELECT $2 FROM ONLY "public"."products" x WHERE "id" OPERATOR(pg_catalog.=) $1')
