"""`BatchingLM`: samplers running in several threads share one model's forward passes.

Every sampler asks its model for next-token log-probabilities once per step.
Run one sampler per prompt, each in its own thread, against one
`BatchingLM`: a call waits until every sampler still running has asked
too, and then one call to the wrapped model answers them all (a batched
forward pass, see `TransformersLM`). No timer is involved: the batch forms
when the last live sampler asks, so the results do not depend on timing.
A sampler that ends (or fails) calls `leave`, so the others stop waiting
for it; a sampler that starts later calls `join` first (a server's
requests come and go: `structgen.serve.batcher`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np


class _Request:
    def __init__(self, contexts: list[list[int]]):
        self.contexts = contexts
        self.rows: np.ndarray | None = None
        self.error: BaseException | None = None


class BatchingLM:
    """A language model shared by ``members`` concurrent samplers.

    Parameters
    ----------
    lm : LanguageModel
        The model that answers the combined calls.
    members : int
        How many samplers share it from the start; each calls `leave` once
        when it ends. Samplers that start later call `join` first.
    """

    def __init__(self, lm, members: int):
        self.lm = lm
        self.vocabulary = lm.vocabulary
        if hasattr(lm, "encode_text"):  # the tokenizer, for LCD's fast-forward (`structgen.sampling.fastforward`)
            self.encode_text = lm.encode_text
        self._live = members
        self._waiting: list[_Request] = []
        self._running = False
        self._changed = threading.Condition()

    def encode_prompt(self, prompt):
        """The wrapped model's `encode_prompt`."""
        from structgen.lm.base import encode_prompt

        return encode_prompt(self.lm, prompt)

    def next_token_logprobs(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        """The wrapped model's rows for ``contexts``, computed together with the other members' calls.

        Raises
        ------
        Exception
            Whatever the wrapped model raised for the combined call.
        """
        request = _Request([list(c) for c in contexts])
        with self._changed:
            self._waiting.append(request)
            self._changed.notify_all()
            while request.rows is None and request.error is None:
                if not self._running and len(self._waiting) >= self._live:
                    self._run_waiting()
                else:
                    self._changed.wait()
        if request.error is not None:
            raise request.error
        return request.rows

    def join(self) -> None:
        """One more member: from now on every combined call also waits for its calls."""
        with self._changed:
            self._live += 1

    def leave(self) -> None:
        """One member has ended: the others no longer wait for its calls."""
        with self._changed:
            self._live -= 1
            self._changed.notify_all()

    def _run_waiting(self) -> None:
        """Answer every waiting request with one call (the lock is held on entry and on return)."""
        batch, self._waiting, self._running = self._waiting, [], True
        self._changed.release()
        try:
            rows = self.lm.next_token_logprobs([c for r in batch for c in r.contexts])
            start = 0
            for r in batch:
                r.rows, start = rows[start:start + len(r.contexts)], start + len(r.contexts)
        except BaseException as error:  # every member of the batch sees it, none waits forever
            for r in batch:
                r.error = error
        finally:
            self._changed.acquire()
            self._running = False
            self._changed.notify_all()
