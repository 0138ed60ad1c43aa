"""Tokens at rest, strict settings helpers, and spreadsheet-safe exports."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from appointments import crypto
from appointments.services.exports import neutralise
from hubportal.settings import env_bool, env_int


def test_it_encrypts_tokens_so_the_stored_text_hides_them() -> None:
    stored = crypto.encrypt("CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4")
    assert "CJSP5qf1" not in stored
    assert crypto.decrypt(stored).startswith("CJSP5qf1")


def test_it_refuses_to_decrypt_with_another_key(settings) -> None:
    stored = crypto.encrypt("secret-token")
    settings.SECRET_KEY = "a-different-secret-key-for-this-test-only"
    with pytest.raises(crypto.TokenDecryptionError):
        crypto.decrypt(stored)


def test_it_decrypts_old_values_after_a_key_rotation(settings) -> None:
    old_key = "n0fPq7p6wNqMBJ2qC4rTzU0w0dNsVv5xJbJ8cQ2m7pI="
    new_key = "Y1tD3yq9Z5pZr0pY0s1bA1m9r5b7x3w9c2v4n6m8k0E="
    settings.HUBPORTAL_TOKEN_KEYS = [old_key]
    stored = crypto.encrypt("refresh-token-value")
    settings.HUBPORTAL_TOKEN_KEYS = [new_key, old_key]
    assert crypto.decrypt(stored) == "refresh-token-value"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Intake visit", "Intake visit"),
        ("", ""),
        (None, ""),
    ],
)
def test_it_neutralises_formula_cells(value: object, expected: str) -> None:
    assert neutralise(value) == expected


def test_it_fails_loudly_on_a_mistyped_boolean(monkeypatch) -> None:
    monkeypatch.setenv("DJANGO_DEBUG", "ture")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG='ture' is not a boolean"):
        env_bool("DJANGO_DEBUG", True)


def test_it_fails_loudly_on_a_non_numeric_integer(monkeypatch) -> None:
    monkeypatch.setenv("HUBPORTAL_MAX_ROWS", "10k")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("HUBPORTAL_MAX_ROWS", 5)
