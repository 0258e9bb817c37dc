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


def test_frozen_objects_keeps_the_objects_alive_at_the_start_out_of_collections():
    from tlfgen.gc_pause import frozen_objects

    before = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == 0
    with frozen_objects():
        frozen = gc.get_freeze_count()
        assert frozen >= len(before)
        with frozen_objects():  # nested: the outer block owns unfreezing
            pass
        assert gc.get_freeze_count() >= frozen
        gc.collect()
        assert gc.get_freeze_count() >= frozen  # a full collection inside leaves them frozen
    assert gc.get_freeze_count() == 0
    with pytest.raises(KeyError), frozen_objects():
        raise KeyError("x")
    assert gc.get_freeze_count() == 0
