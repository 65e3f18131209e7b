"""How a `local-chat` answer is written for each endpoint: a chat completion's choices carry a
`message` (and, streamed, a `delta`), a text completion's carry `text`. Everything else (ids,
usage, the stream's framing) is the same and lives in chat_routes.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shape:
    kind: str  # the answer's `object`
    chunk_kind: str  # a streamed chunk's `object`
    id_prefix: str
    chat: bool

    def opening(self) -> dict[str, Any] | None:
        """The first streamed choice, before any text: OpenAI's chat stream names the role."""
        if not self.chat:
            return None
        delta = {"role": "assistant", "content": ""}
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}

    def choice(self, text: str | None, finish: str | None, *, chunk: bool) -> dict[str, Any]:
        if not self.chat:
            return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        if chunk:
            delta = {} if text is None else {"content": text}
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        message = {"role": "assistant", "content": text or "", "refusal": None}
        return {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}


chat_shape = Shape("chat.completion", "chat.completion.chunk", "chatcmpl-", chat=True)
text_shape = Shape("text_completion", "text_completion", "cmpl-", chat=False)
