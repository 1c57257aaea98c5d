"""`SharedModel`: the server's concurrent requests share one model's forward passes.

Each request runs `structgen.generate` in its own thread against a
`Member` of one `SharedModel`. Members join the shared `BatchingLM` at
their first model call (not before: a request that is still compiling its
structure must not hold the others up) and leave when their generation
ends, so at every step one forward pass answers every request that is
generating at that moment: continuous batching, with requests joining and
leaving between steps. A batch forms when every live member has asked; no
timer is involved.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from structgen.lm.base import encode_prompt
from structgen.lm.batching import BatchingLM


class SharedModel:
    """One language model, shared by every request of a server.

    Parameters
    ----------
    lm : LanguageModel
        The model (e.g. a `structgen.TransformersLM`); only the shared
        batcher calls it, one call at a time.

    Notes
    -----
    `stats` counts the combined calls: how many forward calls, how many
    contexts they answered, and the most contexts in one call.
    """

    def __init__(self, lm):
        self.lm = lm
        self.vocabulary = lm.vocabulary
        self._lock = threading.Lock()
        self._calls = 0
        self._contexts = 0
        self._largest = 0
        self._batching = BatchingLM(_Counted(lm, self._count), members=0)

    def member(self) -> "Member":
        """A new member: use it as the model of one generation, inside a ``with`` block."""
        return Member(self._batching, self.lm)

    @property
    def stats(self) -> dict:
        """Counters of the combined forward calls since the start."""
        with self._lock:
            return {"forward_calls": self._calls, "contexts": self._contexts, "largest_batch": self._largest,
                    "mean_batch": (self._contexts / self._calls) if self._calls else None}

    def _count(self, n: int) -> None:
        with self._lock:
            self._calls += 1
            self._contexts += n
            self._largest = max(self._largest, n)


class _Counted:
    """``lm``, calling ``count(len(contexts))`` before each call."""

    def __init__(self, lm, count):
        self.lm = lm
        self.vocabulary = lm.vocabulary
        self._count = count

    def next_token_logprobs(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        self._count(len(contexts))
        return self.lm.next_token_logprobs(contexts)


class Member:
    """One generation's view of a `SharedModel`: a `LanguageModel` whose calls are batched with the others'.

    It joins the batch at its first call and leaves when the ``with`` block
    ends (or at `leave`), whatever happened inside; the others then stop
    waiting for it. One member serves one generation (its samplers may run
    in several threads: their calls come combined through their own batcher).
    """

    def __init__(self, batching: BatchingLM, lm):
        self._batching = batching
        self._lm = lm
        self.vocabulary = batching.vocabulary
        if hasattr(lm, "encode_text"):  # the tokenizer, for LCD's fast-forward, as `generate` gets it directly
            self.encode_text = lm.encode_text
        self._joined = False
        self._left = False
        self._lock = threading.Lock()

    def encode_prompt(self, prompt) -> list[int]:
        """The shared model's `encode_prompt`."""
        return encode_prompt(self._lm, prompt)

    def next_token_logprobs(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        """The model's rows for ``contexts``, computed in one forward pass with the other members' calls.

        Raises
        ------
        RuntimeError
            The member has left already.
        Exception
            Whatever the model raised for the combined call.
        """
        self.join()
        return self._batching.next_token_logprobs(contexts)

    def join(self) -> None:
        """Take part from now on (idempotent; the first model call does it anyway): the shared calls
        wait for this member's calls too.

        Raises
        ------
        RuntimeError
            The member has left already.
        """
        with self._lock:
            if self._left:
                raise RuntimeError("this member has left the shared model")
            if not self._joined:
                self._batching.join()
                self._joined = True

    def leave(self) -> None:
        """Stop taking part (idempotent); the others no longer wait for this member."""
        with self._lock:
            if self._joined and not self._left:
                self._batching.leave()
            self._left = True

    def __enter__(self) -> "Member":
        return self

    def __exit__(self, *exc) -> None:
        self.leave()
