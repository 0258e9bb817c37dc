"""tlfgen.gc_pause: the collector is off inside the block and restored after it, errors included."""

import gc

import pytest

from tlfgen.gc_pause import paused_gc


def test_collector_off_inside_and_restored_after_even_on_error():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # nested: the outer block still owns re-enabling
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), paused_gc():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
