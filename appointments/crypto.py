"""Encryption of HubSpot tokens at rest, with the ``cryptography`` package's Fernet.

Keys come from ``settings.HUBPORTAL_TOKEN_KEYS`` (urlsafe base64 Fernet keys, newest first, so an
old key can still decrypt while new values use the first). When none is set, one key is derived
from ``SECRET_KEY`` with HKDF-SHA256, so the demo works with no set-up.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class TokenDecryptionError(Exception):
    """A stored token could not be decrypted: the keys changed. The portal must reconnect."""


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"hubportal-token-encryption"
        ).derive(secret_key.encode())
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.HUBPORTAL_TOKEN_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext``; returns a Fernet token as text ("" for "")."""
    if not plaintext:
        return ""
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Decrypt what ``encrypt`` returned; raises TokenDecryptionError when no key fits."""
    if not ciphertext:
        return ""
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError("Stored HubSpot token cannot be decrypted.") from None
