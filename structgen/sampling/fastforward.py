"""Fast-forward: the tokens LCD appends without sampling, where the constraint forces them.

Two kinds of forcing, both with probability one under locally constrained
decoding, so appending them needs no model call of its own (the next call
feeds them all in one forward pass, resuming from the cached prefix):

- a forced *token*: the mask allows exactly one token (not end-of-sequence),
  which LCD would pick at any temperature; exact for any model;
- forced *bytes* (`ConstraintProtocol.forced_bytes`): the bytes every
  accepted continuation starts with (a property name, punctuation, the rest
  of an enum value). They are tokenised as the model's tokenizer would
  tokenise the text, not left to the model, which could spell them in
  non-canonical pieces (``"`` ``n`` ``ame``). See `forced_tokens` for how the
  token boundaries are kept canonical.

Only LCD fast-forwards: see docs/awrs.md for what it would do to the
weights of AWRS and SMC.
"""

from __future__ import annotations

import numpy as np

CONTEXT_TOKENS = 4  # output tokens before the forced bytes that are re-tokenised with them
MAX_FORCED_BYTES = 256


def forced_tokens(constraint, state, output: list[int], encode) -> list[int]:
    """The tokens to append at `state`, after the output tokens `output`, without sampling.

    With `encode` (text -> token ids, no special tokens; None for a model
    without a tokenizer), the forced bytes F are re-tokenised together with
    the text of the last `CONTEXT_TOKENS` output tokens, C. Kept are the
    tokens of ``encode(C + F)`` that lie wholly inside F, provided that

    - the tokenizer puts a token boundary where C ends (else the last sampled
      token would merge with the forced bytes: nothing is forced, the model
      samples and the next step tries again);
    - the last token of the text is dropped when it could still merge with
      bytes that are not forced yet: when the constraint allows a token that
      starts at or inside it and reads past F's end (`":"` before a string,
      which may be empty: `":` `""`), unless nothing may follow F;
    - F is cut back to whole UTF-8 characters (the tokenizer takes text);
    - the ids spell ``C + F`` back exactly.

    So every appended token is one the tokenizer itself gives that text, with
    canonical boundaries on both sides. Each is checked with
    ``constraint.advance`` (a token the vocabulary never allows ends the run).
    When no token comes from the forced bytes, a forced token (a mask of one
    token, not end-of-sequence) is returned alone.

    Returns
    -------
    list of int
        Possibly empty; the caller bounds it by its token budget.
    """
    vocab = constraint.vocab
    out: list[int] = []
    if encode is not None:
        forced = constraint.forced_bytes(state, MAX_FORCED_BYTES)
        if forced:
            out = _tokenise(constraint, state, vocab.decode(output[-CONTEXT_TOKENS:]), forced, encode)
    if out:
        return out
    allowed = constraint.mask(state)
    ids = np.flatnonzero(allowed)
    if len(ids) == 1 and int(ids[0]) not in vocab.eos_token_ids:
        return [int(ids[0])]
    return []


def _tokenise(constraint, state, before: bytes, forced: bytes, encode) -> list[int]:
    end = constraint.advance_bytes(state, forced)
    last_kept = (len(forced) < MAX_FORCED_BYTES and end is not None and constraint.is_accepting(end)
                 and not constraint.can_continue(end))
    cut = len(before + forced) - len(_whole_characters(before + forced))
    if cut >= len(forced):
        return []
    if cut:
        forced, last_kept = forced[:len(forced) - cut], False
    try:
        text = (before + forced).decode("utf-8")
    except UnicodeDecodeError:  # the context starts inside a character: no safe boundary to re-tokenise from
        return []
    ids = [int(i) for i in encode(text)]
    tokens = constraint.vocab.tokens
    if b"".join(tokens[i] for i in ids) != before + forced:
        return []
    position, start = 0, None
    for index, i in enumerate(ids):
        if position == len(before):
            start = index
            break
        position += len(tokens[i])
    if start is None:
        return []
    kept = ids[start:]
    out, s = [], state
    for index, i in enumerate(kept):
        if index == len(kept) - 1 and not last_kept and _runs_past(constraint, s, tokens[i]):
            break
        s = constraint.advance(s, i)
        if s is None:
            break
        out.append(i)
    return out


def _runs_past(constraint, state, last: bytes) -> bool:
    """Whether a token the constraint allows from `state` or from inside
    `last` reads past `last`'s end: then the tokenizer could put no boundary
    there (`":"` followed by an empty string is `":` `""`)."""
    for offset in range(len(last)):
        inside = constraint.advance_bytes(state, last[:offset]) if offset else state
        longer = constraint.vocab.extensions(last[offset:])
        if len(longer) and constraint.mask(inside)[longer].any():
            return True
    return False


def _whole_characters(data: bytes) -> bytes:
    """`data` without an incomplete UTF-8 character at its end."""
    for cut in range(min(3, len(data)) + 1):
        try:
            (data[:len(data) - cut]).decode("utf-8")
            return data[:len(data) - cut]
        except UnicodeDecodeError:
            continue
    return data
