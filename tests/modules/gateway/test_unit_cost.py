"""Per-unit prices: the worst case read from the request, the actual cost from the usage."""

from __future__ import annotations

import base64

from twelve.modules.gateway.stages.cost_estimate import usage_cost
from twelve.modules.gateway.stages.price_list import Price
from twelve.modules.gateway.stages.unit_cost import units_micros, usage_units, worst_units

PRICE = Price(0, 0, per_image=0.04, per_second=0.0001, per_character=0.000015)


def test_worst_units_by_capability() -> None:
    assert worst_units("image_generation", {"n": 3}) == (3, 0.0, 0.0)
    assert worst_units("image_generation", {}) == (1, 0.0, 0.0)
    assert worst_units("ocr", {"pages": [1, 2]}) == (2, 0.0, 0.0)
    assert worst_units("image_analysis", {}) == (1, 0.0, 0.0)
    assert worst_units("speech", {"input": "abcd"}) == (0.0, 1.0, 4.0)
    upload = {"file": {"data": base64.b64encode(b"\0" * 3000).decode()}}
    assert worst_units("transcription", upload) == (0.0, 3.0, 0.0)
    assert worst_units("chat", {"messages": []}) == (0.0, 0.0, 0.0)


def test_units_cost_in_micro_dollars_rounded_up_once() -> None:
    assert units_micros(PRICE, 2, 0, 0) == 80_000
    assert units_micros(PRICE, 0, 1.5, 0) == 150
    assert units_micros(PRICE, 0, 0, 3) == 45
    assert units_micros(Price(0, 0, per_character=0.0000001), 0, 0, 3) == 1


def test_usage_cost_counts_units_and_tokens() -> None:
    assert usage_units({"images": 2}) == (2.0, 0.0, 0.0)
    assert usage_units({"prompt_tokens": 3}) is None
    assert usage_units({"seconds": True}) is None  # a boolean is not a count
    assert usage_cost(PRICE, {"images": 1}) == 40_000
    assert usage_cost(PRICE, {"type": "duration", "seconds": 3}) == 300
    assert usage_cost(PRICE, {"characters": 10, "seconds": 2.5}) == 150 + 250
    assert usage_cost(PRICE, {"type": "duration"}) is None  # nothing counted: unknown
    tokens = Price(1.0, 2.0, per_image=0.01)
    assert usage_cost(tokens, {"prompt_tokens": 10, "completion_tokens": 5, "images": 1}) == (
        10 + 10 + 10_000
    )
