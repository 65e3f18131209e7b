"""Request schemas of the routes that no feature module owns: the sidecar's text tasks,
classification and summarisation, served straight over the models port (documented endpoints:
OpenAI has none)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

_Label = Annotated[str, Field(min_length=1, max_length=1000)]
_Text = Annotated[str, Field(min_length=1, max_length=100_000)]


class ClassificationRequest(BaseModel):
    """`POST /v1/classifications`: the label (of 2 to 100) that fits `input` best; `labels` are
    names, or names with a description each."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(min_length=1)
    input: _Text
    labels: list[_Label] | dict[_Label, _Label] = Field(min_length=2, max_length=100)


class SummaryRequest(BaseModel):
    """`POST /v1/summaries`: the `sentences` of `input` that say the most (extractive)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(min_length=1)
    input: _Text
    sentences: int = Field(default=3, ge=1, le=50)
