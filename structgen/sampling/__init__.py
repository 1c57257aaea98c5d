"""Samplers: `sample(lm, constraint, ...)` returns weighted outputs (`Samples`).

- ``"lcd"``: one particle by masking the vocabulary at every step (the masked
  law; no weights, ``log_ml`` is nan);
- ``"awrs"``: one particle, tokens by adaptive weighted rejection sampling,
  with its importance weight (no resampling);
- ``"smc"``: N AWRS particles with resampling; ``posterior()`` approximates
  the model's distribution conditioned on valid output.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ..constraint import Constraint
from ..errors import InvalidArgumentError
from .arguments import SAMPLERS, check_sampling_arguments
from .awrs import ESTIMATORS, TokenDraw, sample_token
from .lcd import decode_lcd
from .smc import RESAMPLING, Particle, Samples, run_smc


def sample(lm, constraint: Constraint, prompt=None, *, sampler: str = "smc", particles: int = 4,
           max_tokens: int = 256, temperature: float = 1.0, seed: int | None = 0, ess_threshold: float = 0.5,
           resampling: str = "multinomial", estimator: str = "recursive", max_rejects: int | None = None,
           top_p: float = 1.0, tokenizer=None, on_token: Callable[[int], None] | None = None,
           fast_forward: bool = True) -> Samples:
    """Weighted outputs of ``lm`` under ``constraint``, after ``prompt`` (text, token ids or None).

    Parameters
    ----------
    lm : LanguageModel, transformers model, str, os.PathLike or None
        A language model (`structgen.TransformersLM`, `structgen.load_model`),
        a loaded transformers causal LM (with ``tokenizer``), a model folder
        or ``.gguf`` file, or None for the embedded default model; see
        `structgen.lm.as_language_model`.
    constraint : ConstraintProtocol
        Compiled against the model's vocabulary (``lm.vocabulary``).
    prompt : str, list of int or None
        Text (through the chat template), token ids, or None (an empty document).
    sampler : {"smc", "awrs", "lcd"}
    particles : int
        Used by "smc" only.
    max_tokens : int
        Bounds the output's tokens (end-of-sequence not counted).
    ess_threshold : float
        τ: "smc" resamples when the effective sample size falls below τ·N.
    resampling : {"multinomial", "stratified", "systematic"}
    estimator, max_rejects
        Go to AWRS (see `structgen.sampling.awrs`).
    top_p : float
        "lcd" only.
    tokenizer : tokenizer or None
        The tokenizer of a transformers model given as ``lm``.
    on_token : callable or None
        Called with each output token id as it is chosen (end-of-sequence
        excluded); "lcd" and "awrs" only, whose tokens are final when chosen.
    fast_forward : bool
        "lcd" only: append the tokens the constraint forces without sampling
        (`structgen.sampling.fastforward`); ``stats["forced_tokens"]`` counts
        them. "awrs" and "smc" never fast-forward (docs/awrs.md says why).

    Raises
    ------
    InvalidArgumentError
        An argument outside its domain (see `check_sampling_arguments`), or
        ``on_token`` with "smc" (resampling replaces particles), before the
        model is called.
    ModelLoadError
        ``lm`` is a path that holds no loadable model, or a transformers model
        without a tokenizer.
    """
    from ..lm import as_language_model, encode_prompt  # the lm package imports torch: only when sampling

    check_sampling_arguments(sampler=sampler, particles=particles, max_tokens=max_tokens, temperature=temperature,
                             top_p=top_p, seed=seed, ess_threshold=ess_threshold, resampling=resampling,
                             estimator=estimator, max_rejects=max_rejects)
    if on_token is not None and sampler == "smc":
        raise InvalidArgumentError("on_token", "'smc' resamples its particles, so no output is final before the "
                                               "end: stream with 'lcd' or 'awrs'")
    lm = as_language_model(lm, tokenizer, vocabulary=constraint.vocab)
    context = encode_prompt(lm, prompt)
    if sampler == "lcd":
        return _lcd(lm, constraint, context, max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                    seed=seed, on_token=on_token, fast_forward=fast_forward)
    n = particles if sampler == "smc" else 1
    samples = run_smc(lm, constraint, context, particles=n, max_tokens=max_tokens, temperature=temperature,
                      seed=seed, ess_threshold=ess_threshold if sampler == "smc" else 0.0, resampling=resampling,
                      estimator=estimator, max_rejects=max_rejects, on_token=on_token)
    samples.stats["sampler"] = sampler
    return samples


def _lcd(lm, constraint: Constraint, context: list[int], **options) -> Samples:
    start = time.perf_counter()
    trace = decode_lcd(lm, constraint, context, **options)
    data = constraint.vocab.decode(trace.tokens)
    particle = Particle(list(trace.tokens), data, data.decode("utf-8", errors="replace"),
                        0.0 if trace.finished else -math.inf, trace.finished, trace.reason)
    steps = trace.steps
    stats = {
        "sampler": "lcd", "particles": 1, "log_ml": math.nan, "steps": steps, "tokens": len(trace.tokens),
        "forced_tokens": len(trace.forced), "forced_positions": list(trace.forced), "drawn_tokens": steps, "finished": int(trace.finished), "constraint_checks": 0,
        "checks_per_token": {"mean": None, "p50": None, "p99": None, "max": None}, "checks_history": [],
        "masks": steps, "rejections": 0, "fallbacks": 0, "dead_ends": int(trace.reason == "dead_end"),
        "resampling_events": 0, "ess_history": [], "lm_calls": steps, "lm_contexts": steps,
        "start_time": start, "step_times": list(trace.token_times),
    }
    return Samples([particle], math.nan, stats)


def time_per_output_token(step_times: list[float], forced_positions: list[int] = ()) -> float | None:
    """Seconds per output token, from the first token the model chose to the last output token.

    `step_times` holds when each output token came out (``Samples.stats["step_times"]``),
    `forced_positions` which of them fast-forward appended without a model call
    (``stats["forced_positions"]``). Tokens forced before the model's first choice come out before
    the prompt is read: counting from them would put reading the prompt into the time per token.
    Every later token counts, forced or chosen. None with fewer than two tokens from there.
    """
    forced = set(forced_positions)
    first = next((i for i in range(len(step_times)) if i not in forced), None)
    if first is None or len(step_times) - first < 2:
        return None
    return (step_times[-1] - step_times[first]) / (len(step_times) - 1 - first)


__all__ = ["ESTIMATORS", "RESAMPLING", "SAMPLERS", "Particle", "Samples", "TokenDraw", "check_sampling_arguments",
           "sample", "sample_token", "time_per_output_token"]
