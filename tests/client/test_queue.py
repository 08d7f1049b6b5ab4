"""The client's outbox: bounded, oldest dropped and counted, survives reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventkit.client import Outbox


def test_items_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path, max_items=10)
    box.put([("event", {"n": i}) for i in range(3)])
    box.close()
    again = Outbox(path, max_items=10)
    assert [body["n"] for _, _, body in again.peek(10)] == [0, 1, 2]
    ids = [i for i, _, _ in again.peek(2)]
    again.remove(ids)
    assert [body["n"] for _, _, body in again.peek(10)] == [2]
    assert len(again) == 1


def test_full_queue_drops_the_oldest_and_counts_them_persistently(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path, max_items=5)
    assert box.put([("event", {"n": i}) for i in range(4)]) == 0
    assert box.put([("event", {"n": i}) for i in range(4, 8)]) == 3
    assert [body["n"] for _, _, body in box.peek(10)] == [3, 4, 5, 6, 7]
    assert box.dropped == 3
    box.close()
    reopened = Outbox(path, max_items=5)
    reopened.put([("identify", {"n": 8})])
    assert reopened.dropped == 4
    assert [(kind, body["n"]) for _, kind, body in reopened.peek(10)][-1] == ("identify", 8)


def test_memory_queue_and_bad_size() -> None:
    box = Outbox(None, max_items=2)
    box.put([("event", {"a": 1})])
    assert len(box) == 1
    with pytest.raises(ValueError, match="at least 1"):
        Outbox(None, max_items=0)
