"""A transformers ``LogitsProcessor``: structgen's constraints inside ``model.generate``.

::

    from structgen.integrations.transformers import LogitsProcessor, vocabulary

    constraint = structgen.compile_json_schema(schema, vocabulary(model, tokenizer))
    tokenizer.padding_side = "left"
    batch = tokenizer(prompts, return_tensors="pt", padding=True).to(model.device)
    out = model.generate(**batch, logits_processor=[LogitsProcessor(constraint)], max_new_tokens=200)

Every row of the batch walks its own constraint state. The first call sees
the prompts only (left-padded to one width), so each row's generated part
starts at that width; every later call must extend every row by exactly
one token, which is how greedy decoding and sampling call processors.
Modes that reorder, fork or roll back rows (beam search of every kind,
assisted or prompt-lookup decoding, contrastive search, DoLa) are refused
with `UnsupportedGenerationError`: by the generation mode of the enclosing
``model.generate`` when there is one, and by the rows' history in any case.

A row's end-of-sequence token is allowed exactly when its state accepts;
once it has been taken the row may only continue with end-of-sequence or
padding (transformers pads the rows that finished early). `accepted` tells
which rows of the output ended inside the constraint: a row cut off by
``max_new_tokens`` did not, whatever its text looks like.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
import transformers

from ..errors import StructgenError
from ..lm.transformers_lm import model_vocabulary as vocabulary

__all__ = ["LogitsProcessor", "UnsupportedGenerationError", "vocabulary"]

#: The generation modes whose rows extend by one token per step.
SUPPORTED_MODES = ("greedy_search", "sample")

#: How far up the stack the enclosing ``generate`` is looked for.
_FRAMES = 16


class UnsupportedGenerationError(StructgenError):
    """``model.generate`` was asked for a mode a per-row constraint cannot follow (beam search, ...)."""


class LogitsProcessor(transformers.LogitsProcessor):
    """Masks ``scores`` so every row of a ``model.generate`` call stays inside ``constraint``.

    Parameters
    ----------
    constraint : ConstraintProtocol
        Compiled against the model's vocabulary (`vocabulary` builds it from
        the model and its tokenizer); its states are shared by no one else.

    Notes
    -----
    One processor serves one ``model.generate`` call at a time; a new call
    (recognised by its generation config, or by rows that do not extend the
    previous ones) starts every row afresh. Do not combine it with
    ``min_new_tokens``/``min_length``: a row that must end could then be
    forbidden to.
    """

    def __init__(self, constraint):
        self.constraint = constraint
        self._width = len(constraint.vocab)
        self._eos = np.array(sorted(constraint.vocab.eos_token_ids), np.int64)
        self._call = None  # the generation config of the generate call being served
        self._seen: torch.Tensor | None = None  # the previous call's input_ids
        self._states: list = []  # per row: a constraint state, or None once it left the constraint
        self._prompt_width: int | None = None  # where the generated part of every row starts
        self._ending = np.zeros(self._width, np.bool_)  # what a finished row may add

    def accepted(self, sequences: torch.Tensor) -> list[bool]:
        """Per row of ``sequences`` (what the last ``model.generate`` returned): did its generated
        part end with end-of-sequence in an accepting state? A row cut off by ``max_new_tokens``
        did not, even when its text so far is in the language.

        Raises
        ------
        StructgenError
            The processor has not served a call yet.
        """
        if self._prompt_width is None:
            raise StructgenError("accepted() needs the output of a model.generate call this processor served")
        out = []
        for row in sequences[:, self._prompt_width:].tolist():
            state = self.constraint.start()
            for token in row:
                state = self.constraint.advance(state, token)
                if state is None or self.constraint.is_finished(state):
                    break
            out.append(state is not None and self.constraint.is_finished(state))
        return out

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """``scores`` with every token the row's constraint state forbids set to -inf.

        Raises
        ------
        UnsupportedGenerationError
            The enclosing ``generate`` runs a mode other than greedy decoding
            or sampling, or the rows are not the previous call's rows extended
            by one token each.
        StructgenError
            The scores are narrower than the constraint's vocabulary.
        """
        if scores.shape[-1] < self._width:
            raise StructgenError(f"the model's scores have {scores.shape[-1]} columns but the constraint's "
                                 f"vocabulary has {self._width} tokens: compile it against this model's vocabulary")
        call = _enclosing_generate_config()
        if self._continues(input_ids, call):
            self._advance(input_ids[:, -1].tolist())
        else:
            self._start(input_ids, call)
        self._seen = input_ids
        allowed = np.zeros((len(self._states), scores.shape[-1]), np.bool_)
        for row, state in enumerate(self._states):
            if state is None or self.constraint.is_finished(state):
                allowed[row, :self._width] = self._ending
                continue
            allowed[row, :self._width] = self.constraint.mask(state)
            if not allowed[row].any():  # a dead end (a grammar's depth bound): let the row end
                self._states[row] = None
                allowed[row, :self._width] = self._ending
        mask = torch.from_numpy(allowed).to(scores.device)
        return scores.masked_fill(~mask, -float("inf"))

    def _continues(self, input_ids: torch.Tensor, call) -> bool:
        """Is this the next step of the call served so far (else a new call starts)?"""
        seen = self._seen
        if seen is None or (call is not None and call is not self._call):
            return False
        extends = (input_ids.shape[0] == seen.shape[0] and input_ids.shape[1] == seen.shape[1] + 1
                   and torch.equal(input_ids[:, :-1], seen))
        if extends:
            return True
        if call is None and (input_ids.shape[1] <= seen.shape[1] or input_ids.shape[0] != seen.shape[0]):
            return False  # called by hand, with new prompts
        raise UnsupportedGenerationError(
            "the rows are not the previous step's rows extended by one token each (beam search, assisted "
            "decoding or another mode that reorders or rolls back rows): use greedy decoding or sampling")

    def _start(self, input_ids: torch.Tensor, call) -> None:
        self._call = call
        self._prompt_width = input_ids.shape[1]
        self._states = [self.constraint.start()] * input_ids.shape[0]
        ending = set(self._eos.tolist())
        if call is not None:
            for name in ("eos_token_id", "pad_token_id"):
                value = getattr(call, name, None)
                ending |= set() if value is None else {value} if isinstance(value, int) else set(value)
        self._ending = np.zeros(self._width, np.bool_)
        self._ending[[i for i in ending if 0 <= i < self._width]] = True

    def _advance(self, tokens: list[int]) -> None:
        for row, (state, token) in enumerate(zip(self._states, tokens)):
            if state is None or self.constraint.is_finished(state):
                continue
            self._states[row] = self.constraint.advance(state, token)  # None: a token from outside the mask


def _enclosing_generate_config():
    """The generation config of the ``model.generate`` call this processor runs in, or None.

    Raises
    ------
    UnsupportedGenerationError
        That call's mode is not greedy decoding or sampling.
    """
    frame = sys._getframe(2)
    for _ in range(_FRAMES):
        if frame is None:
            return None
        if frame.f_code.co_name == "generate":
            scope = frame.f_locals
            if "generation_mode" in scope and "generation_config" in scope:
                mode = getattr(scope["generation_mode"], "value", scope["generation_mode"])
                config = scope["generation_config"]
                if mode not in SUPPORTED_MODES or getattr(config, "num_beams", 1) > 1:
                    raise UnsupportedGenerationError(
                        f"structgen's LogitsProcessor follows one constraint state per row; generation mode "
                        f"{mode!r} (num_beams={getattr(config, 'num_beams', 1)}) reorders or forks rows: use "
                        f"greedy decoding (do_sample=False, num_beams=1) or sampling (do_sample=True, num_beams=1)")
                return config
        frame = frame.f_back
    return None
