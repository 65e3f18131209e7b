"""Bounded decompression and JSON depth, the limits under every upstream response."""

from __future__ import annotations

import gzip
import zlib

import orjson
import pytest

from twelve.modules.models.adapters.json_payload import MAX_DEPTH, BadJSON, parse_object
from twelve.modules.models.adapters.response_body import BadEncoding, BodyTooLarge, BoundedDecoder


def test_gzip_and_deflate_inflate_within_the_limit() -> None:
    data = b"hello " * 100
    assert BoundedDecoder("gzip", 1000).feed(gzip.compress(data)) == data
    assert BoundedDecoder("deflate", 1000).feed(zlib.compress(data)) == data
    assert BoundedDecoder(None, 1000).feed(data) == data


def test_a_bomb_never_inflates_past_the_limit() -> None:
    bomb = gzip.compress(bytes(50 * 1024 * 1024))
    decoder = BoundedDecoder("gzip", 1024 * 1024)
    with pytest.raises(BodyTooLarge):
        decoder.feed(bomb)


def test_plain_bodies_count_too() -> None:
    decoder = BoundedDecoder("identity", 10)
    decoder.feed(b"12345")
    with pytest.raises(BodyTooLarge):
        decoder.feed(b"123456")


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress"])
def test_encodings_we_did_not_ask_for_are_refused(encoding: str) -> None:
    with pytest.raises(BadEncoding):
        BoundedDecoder(encoding, 10)


def test_corrupt_compressed_data_is_refused() -> None:
    with pytest.raises(BadEncoding):
        BoundedDecoder("gzip", 1000).feed(b"not gzip at all")


def test_json_deeper_than_the_limit_is_refused_and_what_passes_serialises() -> None:
    def nested(levels: int) -> bytes:
        return b'{"a":' + b"[" * (levels - 1) + b"0" + b"]" * (levels - 1) + b"}"

    assert orjson.dumps(parse_object(nested(MAX_DEPTH)))
    with pytest.raises(BadJSON):
        parse_object(nested(MAX_DEPTH + 1))
    with pytest.raises(BadJSON):
        parse_object(nested(300))
