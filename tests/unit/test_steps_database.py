"""Step 05's sentences: nouns and verbs agree with the counts."""
from __future__ import annotations

from irlib.steps.database import blocking_sentence


def test_blocking_sentence_singular_and_plural() -> None:
    assert blocking_sentence("shop", 1, [7]) == "shop: 1 session waits behind root blocker pid 7."
    assert blocking_sentence("shop", 3, [7, 9]) == "shop: 3 sessions wait behind root blockers pid 7, pid 9."
