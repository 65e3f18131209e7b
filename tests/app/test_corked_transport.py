"""A response's head and the start of its body leave in one write; a head alone still leaves
within the same event-loop turn."""

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
    assert real.writes == [b"HEADBODY", b"MORE"]


async def test_a_head_without_a_body_is_written_at_the_end_of_the_turn() -> None:
    real = Recording()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"HEAD")
    assert real.writes == []
    await asyncio.sleep(0)
    assert real.writes == [b"HEAD"]
    corked.write(b"BODY")
    assert real.writes == [b"HEAD", b"BODY"]


async def test_closing_writes_what_is_held_first() -> None:
    real = Recording()
    corked = CorkedTransport(real, asyncio.get_running_loop())
    corked.write(b"HEAD")
    corked.close()
    assert real.writes == [b"HEAD"] and real.closed
    await asyncio.sleep(0)
    assert real.writes == [b"HEAD"]
