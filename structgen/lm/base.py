"""What the samplers need from a language model, and nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from structgen.vocab import Vocabulary

Prompt = str | Sequence[int] | None


@runtime_checkable
class LanguageModel(Protocol):
    """A next-token distribution over `vocabulary`, for a batch of contexts.

    `next_token_logprobs` returns natural log-probabilities, shape
    ``(len(contexts), len(vocabulary))``, one normalised row per context
    (a context is a list of token ids). `encode_prompt` turns a prompt
    (text, token ids, or None for an empty document) into the first context.
    """

    vocabulary: Vocabulary

    def next_token_logprobs(self, contexts: Sequence[Sequence[int]]) -> np.ndarray: ...

    def encode_prompt(self, prompt: Prompt) -> list[int]: ...


def encode_prompt(lm, prompt: Prompt) -> list[int]:
    """The first context for `prompt`, also for hand-written models without
    `encode_prompt` (they take token ids or None, which is the empty context)."""
    method = getattr(lm, "encode_prompt", None)
    if method is not None:
        return list(method(prompt))
    if prompt is None:
        return []
    if isinstance(prompt, str):
        raise TypeError(f"{type(lm).__name__} has no tokenizer: give the prompt as token ids")
    return [int(t) for t in prompt]
