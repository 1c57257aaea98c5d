"""`Grammar`: named rules whose bodies are byte-level IR with rule references.

Every context-free front end (GBNF files, recursive JSON Schemas) produces
this; the pushdown compiler consumes it. A rule body is an ordinary
`structgen.automata.ir` node in which `ir.Ref(name)` stands for the language
of rule `name`. A grammar without references reachable from its start rule
is regular and may take the DFA path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from ..automata import ir
from ..automata.budget import current
from ..automata.dfa import build_dfa
from ..automata.ir import children
from ..automata.nfa import AutomatonTooLargeError, as_word
from ..errors import NestingTooDeepError

# How deep an IR tree may nest after rules are inlined into one another. The
# automaton builder, hashing and substitution recurse over the tree, so this
# keeps them well inside Python's recursion limit; a deeper rule is refused
# with `NestingTooDeepError` rather than left to fail with `RecursionError`.
MAX_IR_DEPTH = 250
# Estimated bytes per IR node or child slot that inlining creates, for the
# memory budget: each becomes at least one NFA state and edge later, so it is
# priced like an NFA edge. Inlining a rule twice into a sequence doubles the
# flattened sequence, so a short grammar can ask for an exponential IR.
IR_SLOT_BYTES = 64
# The most states of a regular rule's eager DFA (its subset construction); a rule past it stays IR,
# which the lazy construction builds as a procedure (the eager DFA of a large rule can pass the
# memory budget, and a rule found too large costs the construction up to this many states).
LEAF_STATES = 4096


@dataclass(frozen=True)
class Grammar:
    """Rules by name and the name of the start rule."""

    rules: dict[str, ir.Node]
    start: str

    def references(self, name: str) -> set[str]:
        """Names of the rules that rule `name`'s body refers to (computed once per rule)."""
        refs = self._references.get(name)
        if refs is None:
            refs = self._references[name] = refs_in(self.rules[name])
        return refs

    @cached_property
    def _references(self) -> dict[str, set[str]]:
        return {}

    def reachable(self) -> list[str]:
        """Rules reachable from the start rule, in discovery order (linear in the grammar's size)."""
        order = [self.start]
        seen = {self.start}
        for name in order:
            for r in sorted(self.references(name)):
                if r in self.rules and r not in seen:
                    seen.add(r)
                    order.append(r)
        return order


def has_refs(node: ir.Node) -> bool:
    """Whether `node` references a rule. Kept on every node of the tree (nodes are immutable, as
    their hash is kept): the questions asked again and again of shared subtrees (is a rule
    regular? what does it reference? what does substituting change?) walk each node once."""
    known = node.__dict__.get("_has_refs")
    if known is not None:
        return known
    stack = [(node, False)]  # bottom-up without recursion, as `fold`
    while stack:
        n, ready = stack.pop()
        if "_has_refs" in n.__dict__:
            continue
        kids = children(n)
        if ready or not kids:
            value = isinstance(n, ir.Ref) or any(k.__dict__["_has_refs"] for k in kids)
            object.__setattr__(n, "_has_refs", value)
        else:
            stack.append((n, True))
            stack.extend((k, False) for k in kids if "_has_refs" not in k.__dict__)
    return node.__dict__["_has_refs"]


def refs_in(node: ir.Node) -> set[str]:
    """Names of every rule referenced inside `node` (walking only the subtrees that reference one)."""
    out: set[str] = set()
    if not has_refs(node):
        return out
    stack = [node]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, ir.Ref):
            out.add(n.name)
        else:
            stack.extend(k for k in children(n) if k.__dict__["_has_refs"])
    return out


def inline_rules(rules: dict[str, ir.Node], names: Iterable[str], kept: set[str]) -> dict[str, ir.Node]:
    """Each rule of `names` with every reference to a rule outside `kept` replaced by that rule's body,
    itself inlined the same way (references to `kept` rules stay). A body without references
    (a regular rule: a keyword list, an identifier) is replaced by its minimal DFA, which the
    NFA of every rule that uses it calls instead of copying.

    The rules outside `kept` must not refer to themselves through other rules
    outside `kept` (they form a DAG). Rules are expanded in post-order, without
    recursion, so a chain of 100,000 rules costs linear time.

    Raises
    ------
    NestingTooDeepError
        When an inlined body nests deeper than `MAX_IR_DEPTH`.
    CompileBudgetError
        When the current compile budget's time runs out, or the IR that
        inlining creates (`IR_SLOT_BYTES` per node and child) its memory.
    """
    meter = current()
    out: dict[str, ir.Node] = {}
    depth: dict[int, int] = {}
    refs: dict[str, set[str]] = {}
    slots = 0  # IR nodes and child slots created so far

    def depth_of(node: ir.Node, depths: list[int]) -> int:
        nonlocal slots
        slots += 1 + len(depths)
        return 1 + max(depths, default=0)

    leaves: dict[str, ir.Node] = {}

    def use(r: ir.Ref) -> ir.Node:
        """What a reference to a rule outside `kept` becomes: its body, or, when that body is
        regular and more than a byte set or a word, its minimal DFA (an NFA calls it, stored once)."""
        if r.name in kept:
            return r
        if r.name not in leaves:
            body = out[r.name]
            regular = not isinstance(body, ir.ByteSet) and as_word(body) is None and not has_refs(body)
            try:
                leaves[r.name] = ir.Automaton(build_dfa(body, most_states=LEAF_STATES)) if regular else body
            except AutomatonTooLargeError:  # a large regular rule: built lazily with the rest (a procedure)
                leaves[r.name] = body
        return leaves[r.name]

    def expand(name: str) -> None:
        if not refs[name]:  # nothing to inline: the body stays as it is
            out[name] = rules[name]
            return
        body = substitute(rules[name], use)
        meter.memory(IR_SLOT_BYTES * (slots + _width(body)))
        if fold(body, depth_of, depth) > MAX_IR_DEPTH:
            raise NestingTooDeepError(f"rule {name!r}, with the rules it uses inlined,", MAX_IR_DEPTH)
        meter.memory(IR_SLOT_BYTES * slots)
        out[name] = body

    for root in names:
        if root in out:
            continue
        stack = [(root, False)]
        while stack:
            name, ready = stack.pop()
            if name in out:
                continue
            meter.tick()
            if ready:
                expand(name)
                continue
            stack.append((name, True))
            refs[name] = {r for r in refs_in(rules[name]) if r not in kept}
            stack.extend((r, False) for r in refs[name] if r not in out)
    return out


def _width(node: ir.Node) -> int:
    """Child slots of `node` itself: a cheap first look at a flattened sequence before walking it."""
    return len(children(node))


def fold(node: ir.Node, combine: Callable[[ir.Node, list], object], memo: dict[int, object]):
    """`combine(n, [values of n's children])` for `node`, bottom-up and without recursion.

    `memo` maps `id(n)` of the nodes already done to their values (so shared
    subtrees are done once); those nodes must stay alive while it is used.
    """
    stack = [(node, False)]
    while stack:
        n, ready = stack.pop()
        if id(n) in memo:
            continue
        kids = children(n)
        if ready or not kids:
            memo[id(n)] = combine(n, [memo[id(c)] for c in kids])
        else:
            stack.append((n, True))
            stack.extend((c, False) for c in kids if id(c) not in memo)
    return memo[id(node)]


def substitute(node: ir.Node, replace: Callable[[ir.Ref], ir.Node]) -> ir.Node:
    """`node` with every `Ref` replaced by `replace(ref)` (shared subtrees rebuilt once). A subtree
    in which nothing is replaced is returned as it is, the same object: rebuilding it would flatten
    it into new objects and lose the sharing that later walks (and their memos) rely on."""
    memo: dict[int, ir.Node] = {}
    has_refs(node)  # known for every node below: a subtree without references is kept at once

    def go(n: ir.Node) -> ir.Node:
        key = id(n)
        if key in memo:
            return memo[key]
        if not n.__dict__["_has_refs"]:
            out = n
        elif isinstance(n, ir.Ref):
            out = replace(n)
        elif isinstance(n, ir.Seq):
            parts = [go(p) for p in n.parts]
            out = n if all(a is b for a, b in zip(parts, n.parts)) else ir.seq(*parts)
        elif isinstance(n, ir.Alt):
            options = [go(o) for o in n.options]
            out = n if all(a is b for a, b in zip(options, n.options)) else ir.alt(*options)
        elif isinstance(n, ir.Repeat):
            inner = go(n.node)
            out = n if inner is n.node else ir.repeat(inner, n.min, n.max)
        elif isinstance(n, ir.Intersect):
            parts = [go(p) for p in n.parts]
            out = n if all(a is b for a, b in zip(parts, n.parts)) else ir.intersect(*parts)
        elif isinstance(n, ir.Complement):
            inner = go(n.node)
            out = n if inner is n.node else ir.complement(inner)
        elif isinstance(n, ir.Members):
            entries = [(go(e), req) for e, req in n.entries]
            extras = None if n.extras is None else go(n.extras)
            sep = go(n.sep)
            same = extras is n.extras and sep is n.sep and all(a is e for (a, _), (e, _) in zip(entries, n.entries))
            out = n if same else ir.members(entries, extras, sep)
        else:
            out = n
        memo[key] = out
        return out

    return go(node)
