"""`sample_batch`: one sampler per prompt, all sharing the model's forward passes.

Each prompt's sampler runs in its own thread against one `BatchingLM`, so
every step's model calls of all prompts become one batched call, whatever
the sampler ("lcd", "awrs" or "smc" with its particles). Each prompt keeps
its own random stream (``seed + index``), so a prompt's result does not
depend on which other prompts share its batch, up to floating-point
differences between batched and single forward passes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..constraint import Constraint
from .smc import Samples


def sample_batch(lm, constraint: Constraint, contexts: Sequence[list[int]], *, seed: int | None = 0,
                 **options) -> list[Samples]:
    """`structgen.sample` for every context (token ids), in order, with batched model calls.

    ``seed`` seeds the first context; context ``i`` gets ``seed + i`` (None:
    fresh entropy for each). ``options`` are `structgen.sample`'s.

    Raises
    ------
    Exception
        The first error a context's sampler raised (the others run to their end first).
    """
    from ..lm.batching import BatchingLM
    from . import sample

    shared = BatchingLM(lm, len(contexts))
    results: list[Samples | None] = [None] * len(contexts)
    errors: list[BaseException | None] = [None] * len(contexts)

    def run(index: int) -> None:
        try:
            results[index] = sample(shared, constraint, contexts[index],
                                    seed=None if seed is None else seed + index, **options)
        except BaseException as error:  # re-raised in the caller's thread
            errors[index] = error
        finally:
            shared.leave()

    threads = [threading.Thread(target=run, args=(i,), name=f"structgen-sample-{i}") for i in range(len(contexts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results
