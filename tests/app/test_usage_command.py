"""`twelve usage` on a terminal: a table with every figure, costs in USD to the micro-dollar."""

from __future__ import annotations

from twelve.app.usage_command import table


def test_the_table_shows_every_figure_aligned() -> None:
    rows = [
        {
            "group": "2026-03-01",
            "requests": 12,
            "input_tokens": 3400,
            "output_tokens": 900,
            "cost": 0.00105,
            "cost_micros": 1050,
            "unpriced_requests": 0,
        },
        {
            "group": "2026-03-02",
            "requests": 1,
            "input_tokens": 7,
            "output_tokens": 3,
            "cost": 0.0,
            "cost_micros": 0,
            "unpriced_requests": 1,
        },
    ]
    lines = table(rows).splitlines()
    assert lines[0].split() == [
        "GROUP",
        "REQUESTS",
        "INPUT",
        "TOKENS",
        "OUTPUT",
        "TOKENS",
        "COST",
        "(USD)",
        "UNPRICED",
    ]
    assert lines[1].split() == ["2026-03-01", "12", "3400", "900", "0.001050", "0"]
    assert lines[2].split() == ["2026-03-02", "1", "7", "3", "0.000000", "1"]
    assert len({len(line) for line in lines}) == 1  # right-aligned columns: equal widths
    assert table([]) == "(no usage)"
