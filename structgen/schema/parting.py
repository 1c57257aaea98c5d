"""A `oneOf` too large to make exclusive exactly, kept to a subset its summaries prove exclusive.

Where deciding whether two branches overlap (or taking the others away from
a branch) needs too large an automaton, `exclusive` would refuse the
`oneOf`. Most such schemas part their branches by property names that the
summaries (`summaries`) cannot use as they stand: a discriminator that no
branch requires (`type: {enum: ["range"]}` in one branch, `["toggle"]` in
the next, neither required, so `{}` satisfies both), or one name required
per branch (`{required: ["equal"]}`, `{required: ["exists"]}`: an object
with both names satisfies both). A member added to a branch keeps it to
the values that satisfy the member, and a value `v` kept of branch `x` must
fail every branch `y` it may overlap, as `y` is written. Where `v` satisfies
member `M`, `v` in `y` means `v` in `y` and `M`; so it is enough that the
summaries tell `x and M` apart from `y`, or from `y and M`:

- hold a name that `y` forbids (`additionalProperties: false` without it);
- lack a name that `y` requires;
- hold a name whose values `x` and `y` tell apart (a discriminator);
- (arrays) hold an item, where `x`'s items and `y`'s are told apart (only the
  empty array satisfies both).

Each branch gets the members that part it from every branch it may
overlap (greedily, the member that parts it from the most first); a branch
some overlap cannot be parted from is left out, which does not harm the
others (each of them is parted from it as written). Every value kept
satisfies exactly one branch; the compiler notes what is left out.
"""

from __future__ import annotations

from ..automata.budget import current
from .members import Member
from .summaries import Summary, surely_disjoint


def parting_members(compiler, branches: list, live: list, summaries: list, undecided: list, pointer: str,
                    active: frozenset) -> tuple[dict[int, list[Member]], list[str]]:
    """The members to add to each `live` branch (index into `live`) that may be kept, and what the
    kept values hold or lack (for the note); the branches missing from the mapping are left out.

    `summaries` are those of the live branches, `undecided` the pairs of them that may overlap.
    """
    cache: dict[tuple[int, int], Summary] = {}

    def summary(k: int, member: Member) -> Summary:
        key = (k, id(member.schema))
        if key not in cache:
            cache[key] = compiler._summary(branches[live[k]] + (member,), active)
        return cache[key]

    def kept(k: int, member: Member) -> bool:  # not a member that parts a branch by emptying it
        return not surely_disjoint(summary(k, member), summary(k, member))

    in_pairs = sorted({k for pair in undecided for k in pair})
    listed = sorted({n for k in in_pairs for n in summaries[k].listed_names})
    required = sorted({n for k in in_pairs for n in summaries[k].required})
    candidates = [(f"hold {n!r}", _synthetic(compiler, ("required", n), {"required": [n]}, pointer)) for n in listed]
    candidates += [(f"lack {n!r}", _synthetic(compiler, ("no property", n), {"properties": {n: False}}, pointer))
                   for n in required]
    if any("array" in summaries[k].kinds for k in in_pairs):
        candidates.append(("hold an item", _synthetic(compiler, ("an item",), {"minItems": 1}, pointer)))
    added: dict[int, list[Member]] = {k: [] for k in range(len(live)) if k not in in_pairs}
    said: set[str] = set()
    for x in in_pairs:
        others = {y for pair in undecided if x in pair for y in pair if y != x}
        parts = {}  # what -> (member, the others it parts x from)
        for what, member in candidates:
            current().check()  # branches times names may be many: the compilation's clock bounds them
            if kept(x, member):
                mine = summary(x, member)
                parted = {y for y in others
                          if surely_disjoint(mine, summaries[y]) or surely_disjoint(mine, summary(y, member))}
                if parted:
                    parts[what] = (member, parted)
        left, chosen = set(others), []
        while left:
            what = max(parts, key=lambda w: len(parts[w][1] & left), default=None)
            if what is None or not parts[what][1] & left:
                break
            chosen.append(what)
            left -= parts[what][1]
        if not left:
            added[x] = [parts[what][0] for what in chosen]
            said.update(chosen)
    return dict(sorted(added.items())), sorted(said)


def _synthetic(compiler, key: tuple, schema: dict, pointer: str) -> Member:
    """A member holding `schema`, one object per `key` for the compiler's run (its caches key on
    `id(schema)`, so it is kept alive with the others it made)."""
    if key not in compiler._synthetic:
        compiler._synthetic[key] = schema
    return Member(compiler._synthetic[key], pointer)
