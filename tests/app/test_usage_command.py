"""`twelve usage` on a terminal: a table with every figure, costs in USD to the micro-dollar, and
columns for images, audio seconds and characters when some row counts them."""

from __future__ import annotations

from twelve.app.usage_command import table


def test_the_table_shows_every_figure_aligned() -> None:
    """Token-only rows: no unit columns, the table it always was."""
    rows = [
        {
            "group": "2026-03-01",
            "requests": 12,
            "input_tokens": 3400,
            "output_tokens": 900,
            "cost": 0.00105,
            "cost_micros": 1050,
            "unpriced_requests": 0,
            "images": 0,
            "audio_seconds": 0.0,
            "characters": 0,
        },
        {
            "group": "2026-03-02",
            "requests": 1,
            "input_tokens": 7,
            "output_tokens": 3,
            "cost": 0.0,
            "cost_micros": 0,
            "unpriced_requests": 1,
            "images": 0,
            "audio_seconds": 0.0,
            "characters": 0,
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


def test_unit_columns_show_when_some_row_counts_units() -> None:
    tokens = {"input_tokens": 0, "output_tokens": 0, "cost_micros": 0, "unpriced_requests": 0}
    rows = [
        tokens | {"group": "painter", "requests": 2, "cost": 0.08, "images": 3},
        tokens | {"group": "voice", "requests": 1, "cost": 0.0003, "audio_seconds": 40.5},
    ]
    rows[0] |= {"audio_seconds": 0.0, "characters": 0}
    rows[1] |= {"images": 0, "characters": 1200}
    lines = table(rows).splitlines()
    assert lines[0].split()[6:11] == ["IMAGES", "AUDIO", "SECONDS", "CHARACTERS", "COST"]
    assert lines[1].split() == ["painter", "2", "0", "0", "3", "0", "0", "0.080000", "0"]
    assert lines[2].split() == ["voice", "1", "0", "0", "0", "40.5", "1200", "0.000300", "0"]
    assert len({len(line) for line in lines}) == 1
