"""Numbered copies of secret keys (db-password-42, MYSQL_PWD-45, authorization-34) are secrets too."""
from __future__ import annotations

import pytest

from irlib.redact import Redactor

SECRET = "Xk9vQ2mPz7Lw4Rt"


@pytest.mark.parametrize("text", [
    f'{{"db-password-42": "{SECRET}"}}',
    f"MYSQL_PWD-45={SECRET}",
    f"password_2: {SECRET}",
    f'{{"authorization-34": "Basic {SECRET}=="}}',
])
def test_suffixed_secret_keys_in_text(text: str) -> None:
    assert SECRET not in Redactor().text(text)


def test_suffixed_secret_keys_in_structures() -> None:
    out = Redactor().json_value({"labels": {"db-password-42": SECRET, "app": "checkout"}})
    assert SECRET not in str(out) and out["labels"]["app"] == "checkout"


def test_numbered_ordinary_keys_survive() -> None:
    text = "retries_3: 5 and token_count: 12345678 and pod-7: checkout-7d9f"
    assert Redactor().text(text) == text
