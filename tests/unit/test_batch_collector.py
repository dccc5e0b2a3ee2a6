"""The garbage collector pause around sync batches restores what it found."""

from __future__ import annotations

import gc

from signage.sync.batch import _collector_paused


def test_collector_is_off_while_batches_run_and_on_after_the_last():
    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
        with _collector_paused():  # a second batch starting while the first runs (nested here)
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first still runs
    assert gc.isenabled()


def test_collector_left_off_by_someone_else_stays_off():
    gc.disable()
    try:
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
