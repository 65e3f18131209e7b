"""A tool definition in OpenAI's shape, shared by the contract and end-to-end tests."""

from __future__ import annotations

from openai.types.chat import ChatCompletionFunctionToolParam

WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
