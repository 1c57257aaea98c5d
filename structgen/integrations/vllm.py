"""A vLLM (V1) ``LogitsProcessor``: structgen's constraints inside vLLM's continuous batches.

::

    from vllm import LLM, SamplingParams

    llm = LLM(model=..., logits_processors=["structgen.integrations.vllm:LogitsProcessor"])
    params = SamplingParams(max_tokens=200, extra_args={"structgen": {"json_schema": schema}})
    out = llm.generate(prompts, params)

or, served: ``vllm serve MODEL --logits-processors structgen.integrations.vllm:LogitsProcessor``,
with ``"vllm_xargs": {"structgen": "<the same object as JSON text>"}`` in the request body (the
HTTP API takes only strings and numbers there, so the object travels as text).

The per-request argument is an object with exactly one of ``json_schema`` (a schema or its JSON
text; options ``whitespace``, ``strict``, ``max_any_depth``), ``regex`` (an ECMA-262 pattern)
or ``grammar`` (GBNF text; options ``start``, ``max_depth``): the keyword arguments of
`structgen.Compiler`'s methods of those names. Requests without it are not touched.

Design
------
vLLM builds one processor per engine, in the engine's process, and calls it on every step of
the whole persistent batch: ``update_state`` with the requests added, removed and moved since
the last step (before the forward pass), then ``apply`` on the batch's logits (after it).

- *Compiling is off the step's hot path.* A request is compiled when it joins the batch, on a
  worker thread, while the forward pass runs; ``apply`` waits only for a compilation still
  unfinished when that request's first token is due. Constraints come from one
  `structgen.Compiler` over the model's vocabulary, so a schema seen before (by any request) is
  a cache hit and its masks are cached with it.
- *numba compiles before the first request.* Making the processor (and the front end's first check)
  compiles one schema, one pattern and one grammar with no practical time limit, so that the
  just-in-time compilation of structgen's kernels (tens of seconds on a cold cache) is not counted
  against a request's compile budget.
- *Tokens are read where vLLM writes them.* Each added request carries a reference to its list of
  output token ids, which vLLM extends in place (with async scheduling, only just before
  ``apply``). A request's state therefore catches up in ``apply``, over the ids appended since
  the last step; a request that rejoins after preemption replays its whole output.
- *One tensor operation per step.* The rows of the constrained requests are filled into one
  boolean matrix of the batch's shape (the other rows stay False) and applied with a single
  ``masked_fill_``.
- *End of sequence.* A request may stop exactly in an accepting state, with the end-of-sequence
  ids vLLM stops that request on (its eos token and stop token ids) that the vocabulary counts
  as end-of-sequence; once the constraint is finished (or, if ever, left), only those.
- *Refusals come early.* ``validate_params`` runs in vLLM's front end, before a request is
  queued: it compiles the request against a 257-token byte vocabulary (cached like the real
  compilations), so an invalid or unsupported schema, pattern or grammar is refused there
  (HTTP 400) with structgen's one-line message. The engine's own compilation can then only fail
  on a budget; such a request is ended at once (empty output) and the error logged, since a
  logits processor cannot fail one request without stopping the engine.

vLLM's V2 model runner (the default of GPU builds that have Triton) takes processors of another
interface and refuses this one; run those builds with ``VLLM_USE_V2_MODEL_RUNNER=0``. Beam search
is not followed (vLLM runs it as a series of one-token requests, each of which starts the
constraint afresh).

`VLLMLanguageModel` (from `structgen.integrations.vllm_lm`, re-exported here) is the other way round:
structgen's samplers drive the engine for next-token distributions (AWRS and SMC on vLLM).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from vllm.logger import init_logger
from vllm.sampling_params import SamplingParams
from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality
from vllm.v1.sample.logits_processor import LogitsProcessor as VLLMLogitsProcessor

from ..compiler import Compiler
from ..errors import InvalidArgumentError, StructgenError
from ..vocab import Vocabulary
from ..warmup import warm_up
from .vllm_lm import VLLMLanguageModel, engine_vocabulary

if TYPE_CHECKING:
    from vllm.config import VllmConfig

__all__ = ["KEY", "LogitsProcessor", "RequestSpec", "VLLMLanguageModel", "request_spec"]

#: The key of ``SamplingParams.extra_args`` (and of ``vllm_xargs``) that carries a request's constraint.
KEY = "structgen"

#: Per kind of constraint: the options its `structgen.Compiler` method takes.
OPTIONS = {"json_schema": ("whitespace", "strict", "max_any_depth"), "regex": (), "grammar": ("start", "max_depth")}

logger = init_logger(__name__)


@dataclass(frozen=True)
class RequestSpec:
    """What one request asks for: a kind of constraint, its source, and the compiler's options."""

    kind: str
    source: Any
    options: dict = field(default_factory=dict)

    def compile(self, compiler: Compiler):
        """The constraint, from ``compiler``'s cache or compiled into it.

        Raises
        ------
        StructgenError
            The subclass the compiler raises for this source (invalid, unsupported, unsatisfiable,
            over budget, a bad option).
        """
        return getattr(compiler, self.kind)(self.source, **self.options)


def request_spec(extra_args: dict | None) -> RequestSpec | None:
    """The constraint a request's ``extra_args`` asks for under `KEY`, or None when it asks for none.

    Raises
    ------
    InvalidArgumentError
        The value is neither an object nor the JSON text of one, names no kind or several, or
        has keys that are not that kind's options.
    """
    if not extra_args or KEY not in extra_args:
        return None
    value = extra_args[KEY]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise InvalidArgumentError(KEY, f"{KEY!r} is not JSON text: {e}") from None
    if not isinstance(value, dict):
        raise InvalidArgumentError(KEY, f"{KEY!r} must be an object (or its JSON text), not {type(value).__name__}")
    kinds = [kind for kind in OPTIONS if kind in value]
    if len(kinds) != 1:
        raise InvalidArgumentError(KEY, f"{KEY!r} needs exactly one of {', '.join(OPTIONS)}; got "
                                        f"{', '.join(kinds) or 'none'}")
    kind = kinds[0]
    unknown = sorted(set(value) - {kind, *OPTIONS[kind]})
    if unknown:
        allowed = ", ".join(OPTIONS[kind]) or "none"
        raise InvalidArgumentError(KEY, f"unknown {KEY!r} option(s) for {kind}: {', '.join(unknown)} "
                                        f"(allowed: {allowed})")
    return RequestSpec(kind, value[kind], {name: value[name] for name in OPTIONS[kind] if name in value})


#: The front end's checking compiler (`LogitsProcessor.validate_params`), made on first use.
_checker: Compiler | None = None
_checker_lock = threading.Lock()


def _checking_compiler() -> Compiler:
    """A compiler over the 256 bytes plus one end-of-sequence id: what a source compiles to does
    not depend on the vocabulary, only whether it compiles at all is asked of it."""
    global _checker
    with _checker_lock:
        if _checker is None:
            _checker = Compiler(Vocabulary([bytes([b]) for b in range(256)] + [b""], [256]))
        return _checker


class _Request:
    """One constrained request of the batch: its compilation, its output so far, its state."""

    def __init__(self, compiled: Future, output: list[int], ending: np.ndarray, refused_eos: np.ndarray):
        self.compiled = compiled
        self.output = output  # vLLM's own list, extended in place
        self.ending = ending  # the ids it may end with
        self.refused_eos = refused_eos  # the vocabulary's end-of-sequence ids vLLM does not stop it on
        self.constraint = None
        self.state = None
        self.consumed = 0  # how many of `output` the state has walked
        self.dead = False  # ended: finished, a failed compilation, or a token from outside the mask

    def fill(self, row: np.ndarray, vocab_size: int) -> None:
        """Set ``row`` (the batch's forbidden matrix row, False on entry) True where a token is forbidden."""
        if self.constraint is None and not self.dead:
            self._start()
        self._catch_up()
        if not self.dead:
            allowed = self.constraint.mask(self.state)
            if allowed.any():
                np.logical_not(allowed, out=row[:vocab_size])
                row[vocab_size:] = True  # ids past the vocabulary (padding of the logits)
                row[self.refused_eos] = True
                return
            self.dead = True  # a dead end (a grammar's depth bound): let the request end
        row[:] = True
        row[self.ending] = False

    def _start(self) -> None:
        try:
            self.constraint = self.compiled.result()
        except StructgenError as e:
            logger.error("structgen: the request's constraint did not compile; it ends now: %s", e)
            self.dead = True
            return
        self.state = self.constraint.start()

    def _catch_up(self) -> None:
        output = self.output
        while not self.dead and self.consumed < len(output):
            token = output[self.consumed]
            if token < 0:  # vLLM's placeholder for a token not copied back yet
                return
            self.consumed += 1
            state = self.constraint.advance(self.state, token)
            if state is None:
                logger.warning("structgen: token %d was sampled outside the constraint's mask; the request "
                               "ends now", token)
            if state is None or self.constraint.is_finished(state):
                self.dead = True
            else:
                self.state = state


class LogitsProcessor(VLLMLogitsProcessor):
    """structgen's constraints applied to the requests of a vLLM (V1) batch that ask for one.

    Parameters
    ----------
    vllm_config : vllm.config.VllmConfig
        The engine's configuration: the tokenizer (loaded from its local files) and the width of
        the logits give the vocabulary.
    device : torch.device
        Where the logits are.
    is_pin_memory : bool
        Unused (the mask is built on the host and copied once per step).

    Raises
    ------
    StructgenError
        The engine has no tokenizer (``skip_tokenizer_init``).
    UnsupportedTokenizerError
        A token of the tokenizer has no byte meaning, or it names no end-of-sequence token.
    """

    def __init__(self, vllm_config: VllmConfig, device: torch.device, is_pin_memory: bool):
        from transformers import AutoTokenizer

        model = vllm_config.model_config
        if model.skip_tokenizer_init or model.tokenizer is None:
            raise StructgenError("structgen's LogitsProcessor needs the model's tokenizer (skip_tokenizer_init "
                                 "is set)")
        tokenizer = AutoTokenizer.from_pretrained(model.tokenizer, revision=model.tokenizer_revision,
                                                  trust_remote_code=model.trust_remote_code, local_files_only=True)
        self.vocab = engine_vocabulary(model, tokenizer)
        warm_up(self.vocab)  # the kernels, and the trie of the model's vocabulary
        self.compiler = Compiler(self.vocab)
        self.device = device
        self._eos = np.array(self.vocab.eos_token_ids, np.int64)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="structgen-compile")
        self._requests: dict[int, _Request] = {}  # batch index -> request

    @classmethod
    def validate_params(cls, sampling_params: SamplingParams) -> None:
        """Refuse a request whose structgen argument cannot be honoured (vLLM answers HTTP 400).

        Raises
        ------
        InvalidArgumentError
            A malformed argument (see `request_spec`); a source that does not compile (the
            compiler's message); ``ignore_eos`` or vLLM's own structured outputs asked for too.
        """
        spec = request_spec(sampling_params.extra_args)
        if spec is None:
            return
        if sampling_params.ignore_eos:
            raise InvalidArgumentError(KEY, "a structgen constraint decides when the output ends: ignore_eos "
                                            "cannot be used with it")
        if sampling_params.structured_outputs is not None:
            raise InvalidArgumentError(KEY, "ask for vLLM's structured outputs or for structgen's constraint, "
                                            "not both")
        try:
            spec.compile(_checking_compiler())
        except InvalidArgumentError:
            raise
        except StructgenError as e:
            raise InvalidArgumentError(KEY, f"{spec.kind}: {e}") from e

    def is_argmax_invariant(self) -> bool:
        """False: masking changes which token is the most likely."""
        return False

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        """Follow the batch's changes: removed requests, added ones (their compilation starts now, on
        the worker thread), moved and swapped ones (in that order, as vLLM specifies)."""
        if batch_update is None:
            return
        for index in batch_update.removed:
            self._requests.pop(index, None)
        for index, params, _prompt, output in batch_update.added:
            spec = request_spec(params.extra_args)  # checked by validate_params in the front end
            if spec is None:
                self._requests.pop(index, None)
                continue
            stops = set(params.stop_token_ids or ())
            if params.eos_token_id is not None:
                stops.add(params.eos_token_id)
            ending = np.array([i for i in self.vocab.eos_token_ids if i in stops] or self.vocab.eos_token_ids,
                              np.int64)
            self._requests[index] = _Request(self._pool.submit(self._compile, spec), output, ending,
                                             np.setdiff1d(self._eos, ending))
        for a, b, direction in batch_update.moved:
            moving, other = self._requests.pop(a, None), self._requests.pop(b, None)
            if moving is not None:
                self._requests[b] = moving
            if other is not None and direction == MoveDirectionality.SWAP:
                self._requests[a] = other

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        """``logits`` with every token a constrained request may not take next set to -inf, in place.

        Raises
        ------
        StructgenError
            The logits are narrower than the vocabulary the constraints were compiled against.
        """
        if not self._requests:
            return logits
        rows, width = logits.shape
        if width < len(self.vocab):
            raise StructgenError(f"the logits have {width} columns but the model's vocabulary has "
                                 f"{len(self.vocab)} tokens")
        forbidden = np.zeros((rows, width), np.bool_)
        for index, request in self._requests.items():
            request.fill(forbidden[index], len(self.vocab))
        logits.masked_fill_(torch.from_numpy(forbidden).to(logits.device), float("-inf"))
        return logits

    def _compile(self, spec: RequestSpec):
        """The request's constraint, with its first mask computed (both off the step's hot path)."""
        constraint = spec.compile(self.compiler)
        constraint.mask(constraint.start())
        return constraint
