"""The benchmark prompt, shaped like JSONSchemaBench's: instructions, two worked examples, the schema.

Why fixed: every engine gets the same prompt tokens, so differences in output come from the
constraint alone. The paper's system message is kept word for word; its examples were picked per
dataset, ours are two small generic ones (a schema and a compact instance each).
"""

from __future__ import annotations

import json
from typing import Any

SYSTEM_MESSAGE = "You need to generate a JSON object that matches the schema below."

EXAMPLES: tuple[tuple[dict, Any], ...] = (
    (
        {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer", "minimum": 0},
                "email": {"type": "string", "format": "email"},
            },
            "required": ["name", "age"],
        },
        {"name": "Alice Martin", "age": 34, "email": "alice@example.com"},
    ),
    (
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                "published": {"type": "boolean"},
            },
            "required": ["title", "published"],
        },
        {"title": "Notes on trail running", "tags": ["sport", "outdoors"], "published": True},
    ),
)


def prompt_messages(schema: Any) -> list[dict[str, str]]:
    """Chat messages: the system instruction, two schema/instance pairs, the target schema last."""
    messages = [{"role": "system", "content": SYSTEM_MESSAGE}]
    for example_schema, instance in EXAMPLES:
        messages.append({"role": "user", "content": json.dumps(example_schema)})
        messages.append({"role": "assistant", "content": json.dumps(instance, separators=(",", ":"))})
    messages.append({"role": "user", "content": json.dumps(schema, ensure_ascii=False)})
    return messages


def prompt_token_ids(tokenizer, schema: Any) -> list[int]:
    """The benchmark prompt of `schema`, through `chat_token_ids`."""
    return chat_token_ids(tokenizer, prompt_messages(schema))


def chat_token_ids(tokenizer, messages: list[dict[str, str]]) -> list[int]:
    """Messages through the tokenizer's chat template (assistant turn opened); plain text without one."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return list(tokenizer.encode(text, add_special_tokens=False))
    text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant: "
    return list(tokenizer.encode(text))
