"""A request the sidecar answers with an error instead of a result: a 4xx for what the client
sent (the message it reads, the parameter at fault), or a 5xx when the model could not do the work
(flite failed, a transcription ran out of time). Raised deep in the speech code (form reading,
decoding, synthesis) and turned into OpenAI's error body by the route that called it."""

from __future__ import annotations


class Refused(Exception):
    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code
