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
    A model may also offer ``next_token_logprobs_among(context, ids)``
    (see `next_token_logprobs_among` below).
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


def next_token_logprobs_among(lm, context: Sequence[int], ids: np.ndarray) -> np.ndarray:
    """Log-probabilities of the next token after `context` given that it is one of `ids`
    (the row restricted to `ids`, renormalised): what masked decoding needs.

    Through the model's own ``next_token_logprobs_among`` when it has one
    (`TransformersLM` then computes only those logits), else from the whole row.
    """
    method = getattr(lm, "next_token_logprobs_among", None)
    if method is not None:
        return method(context, ids)
    return renormalised(lm.next_token_logprobs([context])[0][ids])


def renormalised(scores: np.ndarray) -> np.ndarray:
    """`scores` (log-probabilities up to a constant) shifted to sum to one as probabilities."""
    top = scores.max()
    return scores - (top + np.log(np.exp(scores - top).sum()))
