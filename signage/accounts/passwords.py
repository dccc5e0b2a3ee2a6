"""Password hashing with Argon2id."""

from __future__ import annotations

import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# The test suite hashes hundreds of passwords; it may ask for the cheapest profile.
_PROFILE = profiles.CHEAPEST if os.environ.get("SIGNAGE_ENV") == "testing" else profiles.RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(_PROFILE)
# Verified against when the account does not exist, so timing does not reveal it.
_DUMMY_HASH = _hasher.hash("signage-dummy-password")


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends the same work."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
