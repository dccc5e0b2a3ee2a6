"""Where photo bytes live: a small interface, and a local-directory implementation.

The interface mirrors what an S3-compatible object store offers, so a bucket-backed
implementation can replace :class:`LocalPhotoStorage` without touching callers.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from signage.config import ConfigError

__all__ = [
    "BACKENDS",
    "LocalPhotoStorage",
    "PhotoStorage",
    "StorageFactory",
    "StorageFull",
    "storage_from_config",
    "validate_key",
]

# One path segment: starts with an alphanumeric or underscore (so never "."/".."
# or a hidden name, which keeps our ".tmp-" files out of the key space) and uses
# only characters that are safe both on disk and in S3 keys.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_MAX_KEY_LENGTH = 1024  # S3's own limit

# errno values that mean "out of space" rather than "something is broken".
_FULL_ERRNOS = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if code is not None
)

# Media files are read by other processes (e.g. a web server serving them via
# X-Accel-Redirect); mkstemp creates 0600 files, so widen to what open() gives.
_FILE_MODE = 0o644


class StorageFull(OSError):  # noqa: N818 - name fixed by the photos API contract
    """The store has no room (disk full, quota exceeded): retry later, not a bug."""


@runtime_checkable
class PhotoStorage(Protocol):
    """Key/value storage for photo bytes; keys look like "ab/cd/abcdef…"."""

    def put(self, key: str, data: bytes) -> None:
        """Store data under key, replacing any previous value (idempotent)."""
        ...

    def get(self, key: str) -> bytes:
        """Return the bytes stored under key; raise KeyError if there are none."""
        ...

    def exists(self, key: str) -> bool:
        """Tell whether something is stored under key."""
        ...

    def delete(self, key: str) -> None:
        """Remove key; removing a missing key is not an error (as in S3)."""
        ...


def validate_key(key: str) -> str:
    """Return key unchanged if it is a safe relative key, else raise ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError("storage key must be a non-empty string")
    if len(key) > _MAX_KEY_LENGTH:
        raise ValueError(f"storage key is longer than {_MAX_KEY_LENGTH} characters")
    # Checking every segment rejects "..", ".", absolute paths (empty first
    # segment), backslashes, NULs and doubled slashes in one rule.
    if not all(_SEGMENT.fullmatch(segment) for segment in key.split("/")):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class LocalPhotoStorage:
    """PhotoStorage on a local directory, with atomic writes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalPhotoStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        """Map a validated key to its file below the root."""
        path = self.root.joinpath(*validate_key(key).split("/"))
        # Belt and braces: the key rules already make escaping impossible.
        if self.root not in path.parents:
            raise ValueError(f"invalid storage key: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        """Write data atomically: readers see the old file or the new one, never a part."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The temp file must be in the same directory: os.replace is only
            # atomic within one filesystem.
            fd, temp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as temp:
                    temp.write(data)
                    temp.flush()
                    os.fchmod(temp.fileno(), _FILE_MODE)
                    # Without fsync a crash after the rename can leave an empty
                    # or partial file under the final name on some filesystems.
                    os.fsync(temp.fileno())
                os.replace(temp_name, path)
            except BaseException:
                # Also on KeyboardInterrupt/SystemExit: never leave temp files behind.
                with contextlib.suppress(OSError):
                    os.unlink(temp_name)
                raise
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise StorageFull(exc.errno, exc.strerror, exc.filename) from exc
            raise
        self._sync_directory(path.parent)

    def get(self, key: str) -> bytes:
        """Return the stored bytes; raise KeyError if the key is missing."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        """Tell whether a file is stored under key."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file for key; a missing key is silently ignored."""
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()

    @staticmethod
    def _sync_directory(directory: Path) -> None:
        """Persist the rename itself; best effort, as not every platform allows it."""
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)


# Builds a store from the app config.  An S3-compatible store is one more entry here.
StorageFactory = Callable[[Mapping[str, Any]], PhotoStorage]

BACKENDS: dict[str, StorageFactory] = {
    "local": lambda config: LocalPhotoStorage(config["MEDIA_ROOT"]),
}


def storage_from_config(config: Mapping[str, Any]) -> PhotoStorage:
    """The one place the photo store is chosen: PHOTO_STORAGE names a backend (or is a factory)."""
    choice = config.get("PHOTO_STORAGE") or "local"
    if isinstance(choice, str):
        factory = BACKENDS.get(choice)
        if factory is None:
            known = ", ".join(sorted(BACKENDS))
            raise ConfigError(f"PHOTO_STORAGE {choice!r} is not a known photo store (known: {known})")
    elif callable(choice):
        factory = choice  # embedders and tests may hand over a factory directly
    else:
        raise ConfigError(f"PHOTO_STORAGE must be a store name, got {choice!r}")
    store = factory(config)
    if not isinstance(store, PhotoStorage):
        raise ConfigError(f"PHOTO_STORAGE {choice!r} did not build a photo store")
    return store
