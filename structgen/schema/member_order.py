"""Member order: the orders of an object's members that the output form accepts.

Declared properties (`properties`) are written in schema order: a fixed
order keeps the automaton linear in the number of properties, and the
schema's order is the one a reader (and a model) expects. Members that the
schema names without declaring them have no schema order to follow: names
that only `required` lists (directly, or through `dependentRequired` /
`dependencies` after their rewrite into branches), and the members of a
`const` or `enum` object. Those are accepted in any order, interleaved
with the additional members, so that every order of a valid object is
accepted there.

Any order costs a record of the names written so far: `shuffled` builds
``k * 2**k`` alternatives for k such names (a right-linear grammar over the
subsets, regular and small), so at most `MAX_ANY_ORDER` names get it; past
that the order is fixed (the order the schema lists them in) and the
compiler notes it.
"""

from __future__ import annotations

from ..automata import ir

MAX_ANY_ORDER = 4


def shuffled(members: list[ir.Node], extras: ir.Node | None, sep: ir.Node) -> ir.Node:
    """Every node of `members` exactly once, in any order, with any number of `extras`
    before, between and after them, and `sep` between two neighbours.

    The language is non-empty texts only: with no members, one or more
    `extras` (NOTHING when `extras` is None too).

    Raises
    ------
    ValueError
        More than `MAX_ANY_ORDER` members (the caller decides what to do instead).
    """
    if len(members) > MAX_ANY_ORDER:
        raise ValueError(f"{len(members)} members in any order; at most {MAX_ANY_ORDER}")
    more_extras = ir.star(ir.seq(sep, extras)) if extras is not None else ir.EPSILON
    after_memo: dict[frozenset, ir.Node] = {}

    def after(left: frozenset) -> ir.Node:
        """What may follow once something is written, `left` still to write."""
        if left not in after_memo:
            if not left:
                after_memo[left] = more_extras
            else:
                nxt = ir.alt(*(ir.seq(sep, members[i], after(left - {i})) for i in sorted(left)))
                after_memo[left] = ir.seq(more_extras, nxt)
        return after_memo[left]

    everything = frozenset(range(len(members)))
    options = [ir.seq(members[i], after(everything - {i})) for i in sorted(everything)]
    if extras is not None:
        options.append(ir.seq(extras, after(everything)))
    return ir.alt(*options)


def with_declared(declared: ir.Node, any_required: bool, floating: list[ir.Node], extras: ir.Node | None,
                  sep: ir.Node) -> ir.Node:
    """An object's members: the `declared` ones in schema order (``ir.members`` of them, one
    or more), then the `floating` ones in any order interleaved with `extras`.

    `any_required` says whether a declared member is required (then the
    declared part cannot be skipped). `floating` is not empty.
    """
    tail = shuffled(floating, extras, sep)
    rest = ir.seq(declared, sep, tail)
    return rest if any_required else ir.alt(rest, tail)
