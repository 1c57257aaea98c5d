"""`Grammar`: named rules whose bodies are byte-level IR with rule references.

Every context-free front end (GBNF files, recursive JSON Schemas) produces
this; the pushdown compiler consumes it. A rule body is an ordinary
`structgen.automata.ir` node in which `ir.Ref(name)` stands for the language
of rule `name`. A grammar without references reachable from its start rule
is regular and may take the DFA path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..automata import ir


@dataclass(frozen=True)
class Grammar:
    """Rules by name and the name of the start rule."""

    rules: dict[str, ir.Node]
    start: str

    def references(self, name: str) -> set[str]:
        """Names of the rules that rule `name`'s body refers to."""
        return refs_in(self.rules[name])

    def reachable(self) -> list[str]:
        """Rules reachable from the start rule, in discovery order."""
        seen = [self.start]
        for name in seen:
            for r in sorted(self.references(name)):
                if r in self.rules and r not in seen:
                    seen.append(r)
        return seen


def refs_in(node: ir.Node) -> set[str]:
    """Names of every rule referenced inside `node`."""
    out: set[str] = set()
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
            stack.extend(children(n))
    return out


def children(node: ir.Node) -> tuple[ir.Node, ...]:
    if isinstance(node, (ir.Seq, ir.Intersect)):
        return node.parts
    if isinstance(node, ir.Alt):
        return node.options
    if isinstance(node, (ir.Repeat, ir.Complement)):
        return (node.node,)
    return ()


def substitute(node: ir.Node, replace: Callable[[ir.Ref], ir.Node]) -> ir.Node:
    """`node` with every `Ref` replaced by `replace(ref)` (shared subtrees rebuilt once)."""
    memo: dict[int, ir.Node] = {}

    def go(n: ir.Node) -> ir.Node:
        key = id(n)
        if key in memo:
            return memo[key]
        if isinstance(n, ir.Ref):
            out = replace(n)
        elif isinstance(n, ir.Seq):
            out = ir.seq(*(go(p) for p in n.parts))
        elif isinstance(n, ir.Alt):
            out = ir.alt(*(go(o) for o in n.options))
        elif isinstance(n, ir.Repeat):
            out = ir.repeat(go(n.node), n.min, n.max)
        elif isinstance(n, ir.Intersect):
            out = ir.intersect(*(go(p) for p in n.parts))
        elif isinstance(n, ir.Complement):
            out = ir.complement(go(n.node))
        else:
            out = n
        memo[key] = out
        return out

    return go(node)
