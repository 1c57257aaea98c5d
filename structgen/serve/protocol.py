"""The OpenAI-compatible request bodies the server takes, as Pydantic models.

Fields follow OpenAI's Chat Completions and (legacy) Completions APIs.
structgen's own options travel in one extension object, ``"structgen"``
(the openai client sends it with ``extra_body={"structgen": {...}}``):
``regex`` or ``grammar`` instead of a ``response_format``, and the
sampler. A field OpenAI has but structgen cannot honour (``stop``,
``logprobs``, ``tools``, penalties, ...) is refused with a 400 naming it
rather than silently ignored; unknown fields are refused too, so a
misspelt option does not go unnoticed. A few fields that change nothing
about the output (``user``, ``metadata``, ``store``) are accepted and ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Fields OpenAI defines that structgen does not implement; a request giving any of them a value other
#: than the neutral one (None, False, 0, empty) is refused.
UNSUPPORTED = ("stop", "logprobs", "top_logprobs", "tools", "tool_choice", "functions", "function_call",
               "parallel_tool_calls", "logit_bias", "presence_penalty", "frequency_penalty", "audio",
               "modalities", "prediction", "reasoning_effort", "web_search_options", "echo", "suffix", "best_of")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StructgenOptions(_Strict):
    """The ``"structgen"`` extension object of a request."""

    regex: str | None = Field(None, description="an ECMA-262 pattern the whole output matches")
    grammar: str | None = Field(None, description="GBNF text, or the name of a shipped grammar (json, sql, ...)")
    sampler: Literal["lcd", "awrs", "smc"] = "lcd"
    particles: int = Field(4, ge=1, le=64, description="smc only")
    whitespace: Literal["compact", "flexible"] = "compact"

    @model_validator(mode="after")
    def _one_structure(self):
        if self.regex is not None and self.grammar is not None:
            raise ValueError("give regex or grammar, not both")
        return self


class JSONSchemaFormat(_Strict):
    """``response_format.json_schema``: the schema and its name."""

    name: str = Field("output", max_length=64)
    description: str | None = None
    schema_: dict[str, Any] | bool = Field(True, alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResponseFormat(_Strict):
    """``response_format``: text (no constraint), any JSON object, or a JSON Schema."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self):
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs a json_schema object with the schema")
        if self.type != "json_schema" and self.json_schema is not None:
            raise ValueError(f"json_schema goes with type 'json_schema', not {self.type!r}")
        return self


class StreamOptions(_Strict):
    include_usage: bool = False


class _Request(BaseModel):
    """What chat and text completions share."""

    model_config = ConfigDict(extra="allow")  # unknown and unsupported fields: `unsupported`

    model: str
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0)
    top_p: float | None = Field(None, gt=0, le=1)
    n: int = Field(1, ge=1, le=16)
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None
    store: bool | None = None
    structgen: StructgenOptions | None = None

    def unsupported(self) -> tuple[str, str] | None:
        """(field, message) for the first field given that structgen does not take, or None."""
        for name, value in (self.model_extra or {}).items():
            if name not in UNSUPPORTED:
                return name, "unknown field (structgen's own options go in the 'structgen' object)"
            if value not in (None, False, 0, "", [], {}):
                return name, "not supported by structgen's server"
        if self.stream_options is not None and not self.stream:
            return "stream_options", "goes with stream: true"
        return None


class ContentPart(_Strict):
    type: Literal["text"]
    text: str


class Message(BaseModel):
    """One chat message; the content is text, or a list of text parts."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart]
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class ChatCompletionRequest(_Request):
    """``POST /v1/chat/completions``."""

    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    response_format: ResponseFormat | None = None

    @model_validator(mode="after")
    def _one_limit(self):
        if self.max_tokens is not None and self.max_completion_tokens is not None:
            raise ValueError("give max_tokens or max_completion_tokens, not both")
        return self

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


class CompletionRequest(_Request):
    """``POST /v1/completions``: the prompt is raw text (no chat template), token ids, or a list of either."""

    prompt: str | list[str] | list[int] | list[list[int]]
    response_format: ResponseFormat | None = None  # an extension: OpenAI's completions have none

    @field_validator("prompt")
    @classmethod
    def _not_empty(cls, prompt):
        if isinstance(prompt, list) and (not prompt or any(isinstance(p, list) and not p for p in prompt)):
            raise ValueError("an empty prompt list (or token list)")
        return prompt

    @property
    def token_limit(self) -> int | None:
        return self.max_tokens

    def prompts(self) -> list:
        """One entry per prompt: text or a list of token ids."""
        prompt = self.prompt
        if isinstance(prompt, str) or (prompt and isinstance(prompt[0], int)):
            return [prompt]
        return list(prompt)
