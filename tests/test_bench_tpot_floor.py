"""`bench.tpot_floor`'s dense share: positions whose mask allows more than a share of the vocabulary,
counted along a token path. The judge is the mask size, counted here by hand for a string schema."""

from __future__ import annotations

import structgen
from bench.tpot_floor import dense_share


def test_dense_share_counts_the_free_positions_of_a_string(byte_vocab):
    constraint = structgen.compile_json_schema({"type": "string"}, byte_vocab)
    path = [ord('"'), ord("a"), ord("b"), ord('"')]
    # before the quote only tokens starting with '"' fit (a few); inside the string nearly every token fits
    sizes = []
    state = constraint.start()
    for token in path:
        sizes.append(int(constraint.mask(state).sum()))
        state = constraint.advance(state, token)
    assert sizes[0] < byte_vocab.allowed.sum() / 8 < min(sizes[1:])
    assert dense_share(constraint, path, 1 / 8) == 3 / 4
    assert dense_share(constraint, path[:1], 1 / 8) == 0
