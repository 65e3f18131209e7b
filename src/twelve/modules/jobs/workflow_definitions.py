"""Workflow definitions: the built-in `document_analysis` and the ones in the config file's
`workflows:` section, checked when the file is loaded (a bad one names its workflow, step and
field, and nothing starts).

A workflow is a list of steps. Each step names a capability (a model call through the gateway's
pipeline, or `store`/`notify`), the model and a chain of fallback models, its input (values may
refer to the request, `${request.file_id}`, or to an earlier step's output,
`${steps.extract.output.text}`), retries with exponential backoff, a timeout, what happens when it
still fails (`on_failure`), and optionally a compensation run if a later step fails the workflow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twelve.kernel.config_file import ConfigFileError, load_config_file

# Capabilities a step may name, and the executor operation each runs (model steps), or None
# for the steps the jobs module does itself.
CAPABILITIES: dict[str, str | None] = {
    "chat": "chat_completion",
    "completion": "completion",
    "embedding": "embedding",
    "transcription": "transcription",
    "speech": "speech",
    "image_generation": "image_generation",
    "ocr": "ocr",
    "summarize": "summarization",
    "classify": "classification",
    "image_analysis": "image_analysis",
    "store": None,
    "notify": None,
    "http": None,
}
Capability = Literal[
    "chat", "completion", "embedding", "transcription", "speech", "image_generation", "ocr",
    "summarize", "classify", "image_analysis", "store", "notify", "http",
]  # fmt: skip
Policy = Literal["fail", "partial", "retry_later", "continue"]
_NAME = r"^[a-z][a-z0-9_]{0,62}$"
_REFERENCE = re.compile(r"\$\{([^}]*)\}")


class UseDefault(BaseModel):
    """`on_failure: {default: <value>}`: the step's output is this value; the run goes on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Any


class Compensation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    capability: Capability
    model: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)


class StepDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=_NAME)]
    capability: Capability
    model: str | None = None
    fallbacks: list[str] = Field(default_factory=list, max_length=10)
    input: dict[str, Any] = Field(default_factory=dict)
    on_failure: Policy | UseDefault = "fail"
    retries: int = Field(default=0, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0, le=3600)
    timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    # `retry_later`: how long to wait before each later round, and how many rounds.
    retry_later_seconds: float = Field(default=60.0, ge=0, le=86400)
    retry_later_rounds: int = Field(default=3, ge=1, le=50)
    compensate: Compensation | None = None

    @field_validator("model")
    @classmethod
    def _model_named(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must name a model")
        return value

    @property
    def operation(self) -> str | None:
        return CAPABILITIES[self.capability]

    @property
    def models(self) -> list[str]:
        return [m for m in [self.model, *self.fallbacks] if m]


class WorkflowDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=_NAME)]
    description: str = ""
    # Request fields a caller must give, and those it may leave out with their values.
    requires: list[str] = Field(default_factory=list, max_length=50)
    defaults: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepDefinition] = Field(min_length=1, max_length=50)


DOCUMENT_ANALYSIS = WorkflowDefinition(
    name="document_analysis",
    description="OCR an image or PDF, summarise the text, classify it, store and announce it.",
    requires=["file_id"],
    defaults={"labels": ["invoice", "contract", "letter", "report", "receipt", "other"]},
    steps=[
        StepDefinition(
            name="extract",
            capability="ocr",
            model="local-ocr",
            input={"file_id": "${request.file_id}"},
            retries=1,
            timeout_seconds=120,
        ),
        StepDefinition(
            name="summarize",
            capability="summarize",
            model="local-summarize",
            input={"input": "${steps.extract.output.text}", "sentences": 2},
            retries=2,
            on_failure="partial",
        ),
        StepDefinition(
            name="classify",
            capability="classify",
            model="local-classify",
            input={"input": "${steps.extract.output.text}", "labels": "${request.labels}"},
            retries=1,
            on_failure=UseDefault(default={"label": "unclassified", "scores": []}),
        ),
        StepDefinition(
            name="store",
            capability="store",
            input={
                "text": "${steps.extract.output.text}",
                "summary": "${steps.summarize.output.summary}",
                "label": "${steps.classify.output.label}",
            },
            on_failure="retry_later",
            retry_later_seconds=30,
        ),
        StepDefinition(
            name="notify",
            capability="notify",
            input={"url": "${request.callback_url}"},
            on_failure="continue",
        ),
    ],
)


def references(value: Any) -> list[str]:
    """Every `${…}` path in `value` (strings, lists, objects)."""
    if isinstance(value, str):
        return _REFERENCE.findall(value)
    if isinstance(value, list):
        return [r for item in value for r in references(item)]
    if isinstance(value, dict):
        return [r for item in value.values() for r in references(item)]
    return []


def check_references(workflow: WorkflowDefinition) -> None:
    """Refuse a reference to a step that does not come before, or to anything but the request
    and earlier steps' outputs."""
    earlier: set[str] = set()
    for index, step in enumerate(workflow.steps):
        if step.name in earlier:
            raise ValueError(f"steps.{index}.name: {step.name!r} is used twice")
        inputs = [step.input, step.compensate.input if step.compensate else {}]
        for reference in references(inputs):
            parts = reference.split(".")
            if parts[0] == "request" and len(parts) >= 2:
                continue
            if parts[0] == "steps" and len(parts) >= 3 and parts[2] == "output":
                if parts[1] not in earlier | {step.name}:
                    raise ValueError(
                        f"steps.{index}.input: ${{{reference}}} names step {parts[1]!r}, "
                        "which does not come before this one"
                    )
                continue
            raise ValueError(
                f"steps.{index}.input: ${{{reference}}} is neither request.<field> nor "
                "steps.<name>.output[.<field>]"
            )
        if step.capability == "http" and "url" not in step.input:
            raise ValueError(f"steps.{index}.input: an http step needs `url`")
        if step.operation is not None and not step.models:
            raise ValueError(f"steps.{index}.model: a {step.capability} step needs a model")
        earlier.add(step.name)


def load_workflows(path: Path | None) -> dict[str, WorkflowDefinition]:
    """The built-in workflows, then the config file's (a name given there replaces a built-in)."""
    found = {DOCUMENT_ANALYSIS.name: DOCUMENT_ANALYSIS}
    listed = load_config_file(path).get("workflows") or []
    if not isinstance(listed, list):
        raise ConfigFileError(f"config file {path}: `workflows` must be a list")
    for position, raw in enumerate(listed):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"workflow {name!r}" if isinstance(name, str) else f"workflows.{position}"
        try:
            workflow = WorkflowDefinition.model_validate(raw)
            check_references(workflow)
        except ValidationError as exc:
            problem = exc.errors(include_url=False, include_input=False)[0]
            field = ".".join(str(p) for p in problem["loc"])
            raise ConfigFileError(
                f"config file {path}: {where}: {field}: {problem['msg']}"
            ) from None
        except ValueError as exc:
            raise ConfigFileError(f"config file {path}: {where}: {exc}") from None
        found[workflow.name] = workflow
    return found
