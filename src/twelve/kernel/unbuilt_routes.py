"""OpenAI-compatible routes that Twelve does not serve yet, so a 404 can say so.

A client calling `/v1/images/edits` should learn that this version lacks the feature, not
that it mistyped the URL. A prefix stops mattering once its route exists: only requests no route
matched reach the 404.
"""

from __future__ import annotations

# Public paths of OpenAI's API and of Twelve's planned modules, not yet built.
UNBUILT_PREFIXES = (
    "/v1/images",
    "/v1/audio",
    "/v1/uploads",
    "/v1/events",
    "/v1/responses",
    "/v1/batches",
    "/v1/moderations",
    "/v1/rerank",
    "/v1/fine_tuning",
    "/v1/assistants",
    "/v1/threads",
    "/v1/vector_stores",
    "/v1/realtime",
    "/v1/evals",
    "/v1/containers",
    "/v1/conversations",
    "/v1/videos",
)


def not_found_message(path: str) -> tuple[str, str | None]:
    """The message and code of a 404 for `path`."""
    for prefix in UNBUILT_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return (
                f"`{prefix}` is not available in this version of Twelve yet.",
                "not_implemented",
            )
    return "Unknown request URL. Please check the URL and method.", None
