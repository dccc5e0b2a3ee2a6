"""Unit tests for signage.photos.storage."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from signage.config import ConfigError
from signage.photos import storage
from signage.photos.storage import LocalPhotoStorage, PhotoStorage, StorageFull, validate_key

KEY = "ab/cd/abcdef0123456789"


@pytest.fixture
def store(tmp_path: Path) -> LocalPhotoStorage:
    """A store rooted in a fresh directory."""
    return LocalPhotoStorage(tmp_path / "media")


def files_under(root: Path) -> list[str]:
    """Every regular file below root, as sorted relative paths."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def fail_with(code: int) -> Any:
    """A stand-in for os.fsync that fails like a full or broken disk."""

    def fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    return fsync


def test_local_storage_satisfies_the_protocol(store: LocalPhotoStorage) -> None:
    assert isinstance(store, PhotoStorage)


def test_put_then_get_round_trips_and_lays_out_the_key(store: LocalPhotoStorage) -> None:
    store.put(KEY, b"\xff\xd8photo")
    assert store.get(KEY) == b"\xff\xd8photo"
    assert (store.root / "ab" / "cd" / "abcdef0123456789").read_bytes() == b"\xff\xd8photo"


def test_put_is_idempotent_and_replaces(store: LocalPhotoStorage) -> None:
    store.put(KEY, b"one")
    store.put(KEY, b"one")
    assert store.get(KEY) == b"one"
    store.put(KEY, b"two")
    assert store.get(KEY) == b"two"
    assert files_under(store.root) == ["ab/cd/abcdef0123456789"]


def test_put_empty_bytes(store: LocalPhotoStorage) -> None:
    store.put(KEY, b"")
    assert store.get(KEY) == b""
    assert store.exists(KEY)


def test_stored_files_are_readable_by_other_processes(store: LocalPhotoStorage) -> None:
    # mkstemp creates 0600 files; a web server serving media must be able to read them.
    store.put(KEY, b"x")
    mode = stat.S_IMODE((store.root / KEY).stat().st_mode)
    assert mode == 0o644


def test_get_missing_raises_key_error(store: LocalPhotoStorage) -> None:
    with pytest.raises(KeyError):
        store.get(KEY)


def test_get_of_a_directory_prefix_raises_key_error(store: LocalPhotoStorage) -> None:
    store.put(KEY, b"x")
    with pytest.raises(KeyError):
        store.get("ab/cd")


def test_exists(store: LocalPhotoStorage) -> None:
    assert not store.exists(KEY)
    store.put(KEY, b"x")
    assert store.exists(KEY)
    assert not store.exists("ab/cd")  # a directory is not a stored object


def test_delete_removes_and_tolerates_missing_keys(store: LocalPhotoStorage) -> None:
    store.put(KEY, b"x")
    store.delete(KEY)
    assert not store.exists(KEY)
    store.delete(KEY)  # again: like S3, deleting nothing is fine
    store.delete("zz/yy/never-written")


def test_root_is_created_on_first_put(tmp_path: Path) -> None:
    root = tmp_path / "does" / "not" / "exist"
    store = LocalPhotoStorage(root)
    assert not store.exists(KEY)
    store.put(KEY, b"x")
    assert root.is_dir()


def test_keys_with_dots_dashes_and_underscores_are_fine(store: LocalPhotoStorage) -> None:
    for key in ("ab/cd/abcdef.jpg", "ab/cd/abcdef-thumb.jpg", "_tmp/x", "single"):
        store.put(key, key.encode())
        assert store.get(key) == key.encode()


@pytest.mark.parametrize(
    "key",
    [
        "",
        "..",
        "../escape",
        "ab/../../escape",
        "ab/./cd",
        "/etc/passwd",
        "ab//cd",
        "ab/cd/",
        "ab\\..\\escape",
        "ab/cd\x00.jpg",
        ".hidden",
        "ab/.tmp-123",
        "ab/cd ef",
        "x" * 1025,
    ],
)
def test_unsafe_keys_are_rejected_by_every_method(store: LocalPhotoStorage, key: str) -> None:
    with pytest.raises(ValueError):
        validate_key(key)
    with pytest.raises(ValueError):
        store.put(key, b"x")
    with pytest.raises(ValueError):
        store.get(key)
    with pytest.raises(ValueError):
        store.exists(key)
    with pytest.raises(ValueError):
        store.delete(key)
    assert not store.root.exists()  # nothing was created on the way to the error


def test_non_string_key_is_rejected(store: LocalPhotoStorage) -> None:
    with pytest.raises(ValueError):
        store.put(b"ab/cd", b"x")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_full_disk_raises_storage_full_and_leaves_no_files(
    store: LocalPhotoStorage, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr(storage.os, "fsync", fail_with(code))
    with pytest.raises(StorageFull) as info:
        store.put(KEY, b"partial?")
    assert isinstance(info.value, OSError)
    assert info.value.errno == code
    assert isinstance(info.value.__cause__, OSError)
    # Neither the temp file nor a half-written final file is left behind.
    assert files_under(store.root) == []
    assert not store.exists(KEY)


def test_failed_overwrite_keeps_the_previous_version(
    store: LocalPhotoStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put(KEY, b"good old bytes")
    monkeypatch.setattr(storage.os, "fsync", fail_with(errno.ENOSPC))
    with pytest.raises(StorageFull):
        store.put(KEY, b"new bytes that never fully landed")
    assert store.get(KEY) == b"good old bytes"
    assert files_under(store.root) == ["ab/cd/abcdef0123456789"]


def test_other_os_errors_propagate_unchanged_and_clean_up(
    store: LocalPhotoStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.os, "fsync", fail_with(errno.EIO))
    with pytest.raises(OSError) as info:
        store.put(KEY, b"x")
    assert not isinstance(info.value, StorageFull)
    assert info.value.errno == errno.EIO
    assert files_under(store.root) == []


def test_failing_rename_cleans_up_the_temp_file(
    store: LocalPhotoStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def replace(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "replace", replace)
    with pytest.raises(StorageFull):
        store.put(KEY, b"x")
    assert files_under(store.root) == []


def test_interrupted_write_cleans_up_the_temp_file(
    store: LocalPhotoStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fsync(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(storage.os, "fsync", fsync)
    with pytest.raises(KeyboardInterrupt):
        store.put(KEY, b"x")
    assert files_under(store.root) == []


def test_directory_creation_on_a_full_disk_is_storage_full(
    store: LocalPhotoStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.Path, "mkdir", mkdir)
    with pytest.raises(StorageFull):
        store.put(KEY, b"x")


def test_storage_full_is_an_os_error() -> None:
    error = StorageFull(errno.ENOSPC, "No space left on device", "/media/ab")
    assert isinstance(error, OSError)
    assert (error.errno, error.filename) == (errno.ENOSPC, "/media/ab")


# --------------------------------------------------------------------------- #
# choosing the store from config


def test_storage_from_config_defaults_to_local_under_media_root(tmp_path: Path) -> None:
    store = storage.storage_from_config({"MEDIA_ROOT": str(tmp_path / "media")})
    assert isinstance(store, LocalPhotoStorage)
    assert store.root == (tmp_path / "media").resolve()


def test_storage_from_config_refuses_an_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PHOTO_STORAGE 's4'"):
        storage.storage_from_config({"PHOTO_STORAGE": "s4", "MEDIA_ROOT": str(tmp_path)})


def test_storage_from_config_accepts_a_factory(tmp_path: Path) -> None:
    made = LocalPhotoStorage(tmp_path / "elsewhere")
    assert storage.storage_from_config({"PHOTO_STORAGE": lambda config: made}) is made


def test_storage_from_config_refuses_a_factory_that_builds_no_store() -> None:
    with pytest.raises(ConfigError, match="did not build a photo store"):
        storage.storage_from_config({"PHOTO_STORAGE": lambda config: object()})
