"""An OpenAI chat request as an Anthropic Messages request.

System and developer messages become `system` (Anthropic has no system turns, so one in the
middle of a conversation is hoisted); tool calls and tool results become `tool_use` and
`tool_result` blocks; consecutive messages of one role are merged, as Anthropic wants turns to
alternate. Parameters with no Anthropic equivalent (seed, penalties, logprobs, …) are dropped;
ones whose meaning would change (`n` > 1, unknown content or tool types) are refused.
https://docs.anthropic.com/en/api/messages
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from twelve.kernel.errors import InvalidRequest
from twelve.modules.models.api import JSONObject

_DATA_URL = re.compile(r"^data:(?P<media_type>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)
_TOOL_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}
# Anthropic's temperature range is [0, 1]; OpenAI's is [0, 2]. Clamping keeps a request that
# falls back from an OpenAI model to a Claude model working instead of failing with a 400.
_MAX_TEMPERATURE = 1.0


def to_messages_request(
    body: JSONObject, *, model: str, default_max_tokens: int, stream: bool
) -> JSONObject:
    """The Messages request for `body`; `InvalidRequest` (naming the param) for any shape that
    cannot be translated, before anything is sent."""
    if body.get("n") not in (None, 1):
        raise InvalidRequest("This model returns a single choice: `n` must be 1.", param="n")
    system, messages = _conversation(body.get("messages"))
    max_tokens = (
        _positive(body, "max_completion_tokens")
        or _positive(body, "max_tokens")
        or default_max_tokens
    )
    request: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": messages}
    if system:
        request["system"] = system
    if stream:
        request["stream"] = True
    if (temperature := _number(body, "temperature")) is not None:
        request["temperature"] = min(temperature, _MAX_TEMPERATURE)
    if (top_p := _number(body, "top_p")) is not None:
        request["top_p"] = top_p
    if sequences := _stop_sequences(body.get("stop")):
        request["stop_sequences"] = sequences
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise InvalidRequest("`tools` must be an array.", param="tools")
    if tools:
        request["tools"] = [_tool(tool) for tool in tools]
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            request["tool_choice"] = choice
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise InvalidRequest("`user` must be a string.", param="user")
    if user:
        request["metadata"] = {"user_id": user}
    return request


def _positive(body: JSONObject, field: str) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest(f"`{field}` must be a positive integer.", param=field)
    return value


def _number(body: JSONObject, field: str) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidRequest(f"`{field}` must be a number.", param=field)
    return float(value)


def _stop_sequences(stop: Any) -> list[str]:
    sequences = [stop] if isinstance(stop, str) else stop if stop is not None else []
    if not isinstance(sequences, list) or not all(isinstance(s, str) for s in sequences):
        raise InvalidRequest("`stop` must be a string or an array of strings.", param="stop")
    # Anthropic refuses whitespace-only stop sequences.
    return [s for s in sequences if s.strip()]


def _conversation(messages: Any) -> tuple[list[JSONObject], list[JSONObject]]:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("`messages` must be a non-empty array.", param="messages")
    system: list[JSONObject] = []
    turns: list[JSONObject] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages[{index}] must be an object.", param="messages")
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_content(message.get("content"), index))
        elif role == "user":
            _append(turns, "user", _content(message.get("content"), index))
        elif role == "assistant":
            blocks = _content(message.get("content"), index)
            calls = message.get("tool_calls") or []
            if not isinstance(calls, list):
                raise InvalidRequest(
                    f"messages[{index}].tool_calls must be an array.", param="messages"
                )
            blocks += [_tool_use(call, index) for call in calls]
            _append(turns, "assistant", blocks)
        elif role == "tool":
            if not isinstance(message.get("tool_call_id"), str):
                raise InvalidRequest(
                    f"messages[{index}].tool_call_id must be a string.", param="messages"
                )
            result = {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id"),
                "content": _content(message.get("content"), index),
            }
            _append(turns, "user", [result])
        else:
            raise InvalidRequest(
                f"messages[{index}].role `{role}` is not supported by this model.",
                param="messages",
            )
    if not turns:
        # Anthropic refuses a conversation with no user or assistant content.
        raise InvalidRequest(
            "`messages` needs at least one user or assistant message with content.",
            param="messages",
        )
    return system, turns


def _append(turns: list[JSONObject], role: str, blocks: list[JSONObject]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _content(content: Any, index: int) -> list[JSONObject]:
    if content is None:
        return []
    if isinstance(content, str):
        # Anthropic rejects empty text blocks.
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequest(f"messages[{index}].content is not valid.", param="messages")
    return [block for part in content if (block := _part(part, index)) is not None]


def _part(part: Any, index: int) -> JSONObject | None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("text", "refusal"):
        text = part.get(kind)
        return {"type": "text", "text": text} if isinstance(text, str) and text else None
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str):
            return {"type": "image", "source": _source(url)}
    if kind == "file":
        file = part.get("file")
        data = file.get("file_data") if isinstance(file, dict) else None
        if isinstance(data, str) and (match := _DATA_URL.match(data)):
            source = {"type": "base64", **match.groupdict()}
            return {"type": "document", "source": source}
    raise InvalidRequest(
        f"messages[{index}] has a content part of type `{kind}` this model cannot read.",
        param="messages",
    )


def _source(url: str) -> JSONObject:
    if match := _DATA_URL.match(url):
        return {"type": "base64", **match.groupdict()}
    return {"type": "url", "url": url}


def _tool_use(call: Any, index: int) -> JSONObject:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        raise InvalidRequest(f"messages[{index}].tool_calls is not valid.", param="messages")
    arguments = function.get("arguments") or "{}"
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) else None
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidRequest(
            f"messages[{index}].tool_calls arguments must be a JSON object.", param="messages"
        )
    if not isinstance(call.get("id"), str) or not isinstance(function.get("name"), str):
        raise InvalidRequest(
            f"messages[{index}].tool_calls need a string `id` and function `name`.",
            param="messages",
        )
    return {"type": "tool_use", "id": call["id"], "name": function["name"], "input": parsed}


def _tool(tool: Any) -> JSONObject:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or tool.get("type") != "function":
        raise InvalidRequest("Only function tools are supported by this model.", param="tools")
    name, parameters = function.get("name"), function.get("parameters")
    if not isinstance(name, str) or not isinstance(parameters, dict | None):
        raise InvalidRequest(
            "A tool needs a string `name` and an object `parameters`.", param="tools"
        )
    converted: dict[str, Any] = {
        "name": name,
        "input_schema": parameters or {"type": "object", "properties": {}},
    }
    if isinstance(function.get("description"), str) and function["description"]:
        converted["description"] = function["description"]
    return converted


def _tool_choice(choice: Any, parallel: Any) -> JSONObject | None:
    if choice is None:
        converted: dict[str, Any] = {"type": "auto"}
    elif isinstance(choice, str) and choice in _TOOL_CHOICES:
        converted = dict(_TOOL_CHOICES[choice])
    elif isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            raise InvalidRequest(
                "`tool_choice.function` must be an object with a string `name`.",
                param="tool_choice",
            )
        converted = {"type": "tool", "name": name}
    else:
        raise InvalidRequest(
            "This `tool_choice` is not supported by this model.", param="tool_choice"
        )
    if parallel is False and converted["type"] != "none":
        converted["disable_parallel_tool_use"] = True
    elif choice is None:
        return None
    return converted
