"""A response's writes within one event-loop turn leave in one write, at the end of that turn."""

from __future__ import annotations

import asyncio

from twelve.app.http_protocol import CorkedTransport


class Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


async def test_head_and_body_written_together() -> None:
    real = Recording()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"HEAD")
    corked.write(b"BODY")
    corked.write(b"MORE")
    await asyncio.sleep(0)
    assert real.writes == [b"HEADBODYMORE"]


async def test_each_turns_writes_go_out_at_the_end_of_that_turn() -> None:
    real = Recording()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"HEAD")
    assert real.writes == []
    await asyncio.sleep(0)
    assert real.writes == [b"HEAD"]
    corked.write(b"BODY")  # a later turn's writes are gathered again
    assert real.writes == [b"HEAD"]
    await asyncio.sleep(0)
    assert real.writes == [b"HEAD", b"BODY"]


async def test_closing_writes_what_is_held_first() -> None:
    real = Recording()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"HEAD")
    corked.close()
    assert real.writes == [b"HEAD"] and real.closed
    await asyncio.sleep(0)
    assert real.writes == [b"HEAD"]


async def test_past_the_bound_held_writes_go_out_at_once() -> None:
    real = Recording()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"x" * CorkedTransport.MAX_HELD)
    assert real.writes == []
    corked.write(b"y")
    assert real.writes == [b"x" * CorkedTransport.MAX_HELD + b"y"]
    await asyncio.sleep(0)
    assert len(real.writes) == 1
