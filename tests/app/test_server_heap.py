"""The server runner settles the heap once start-up is done (GC pauses were the p99 stall)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from twelve.app.server import GC_THRESHOLD, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_heap_freezes_start_up_objects_and_raises_the_threshold(restored_gc: None) -> None:
    built_at_start_up = [object() for _ in range(10)]
    settle_heap()
    assert gc.get_freeze_count() > len(built_at_start_up)
    assert gc.get_threshold() == GC_THRESHOLD
    assert GC_THRESHOLD[0] > 700  # fewer young collections than CPython's default
