"""Normalising a grammar for the pushdown compiler: which rules stay rules, and their bodies.

Step 1 of `pushdown.compile_pushdown` (see its module docstring): rules that
are not on a reference cycle are inlined (a regular one as a minimal DFA
that its users call), recursive rules are merged while that keeps each rule
small (`MAX_MERGED_SIZE`), intersections or complements of recursive rules
are refused, and rules that derive no finite string are dropped; which
remaining rules accept the empty string is reported, so the compiler can
split their references. The facts (productive, nullable) are least fixed
points over the rule graph (`_fixpoint`) of properties read off the IR
(`_holds`).
"""

from __future__ import annotations

from ..automata import ir
from ..automata.budget import current
from ..automata.components import strongly_connected
from ..automata.dfa import build_dfa
from ..errors import GrammarError, NestingTooDeepError
from .grammar import Grammar, children, fold, has_refs, inline_rules, refs_in, substitute

MAX_MERGED_SIZE = 2000  # IR nodes a rule body may grow to by merging recursive rules into it


def normalise(grammar: Grammar) -> tuple[list[str], list[ir.Node], set[str]]:
    """Rule names (the start's outermost context first), bodies with references only to
    recursive, productive rules, and which of those rules accept the empty string."""
    if grammar.start not in grammar.rules:
        raise GrammarError(f"the start rule {grammar.start!r} is not defined", (grammar.start,))
    reachable = grammar.reachable()
    undefined = sorted({r for n in reachable for r in grammar.references(n)} - set(grammar.rules))
    if undefined:
        raise GrammarError(f"undefined rule(s): {', '.join(undefined)}", tuple(undefined))
    recursive = _recursive_rules(grammar, reachable)
    inlined = inline_rules(grammar.rules, reachable, recursive)
    bodies = {n: inlined[n] for n in reachable if n in recursive}
    top = inlined[grammar.start]
    if not bodies:  # a regular grammar: nothing below refers to a rule
        return [grammar.start], [top], set()
    top, bodies = _inline_recursive(grammar.start, top, bodies)
    for name, body in [(grammar.start, top), *bodies.items()]:
        _check_context_free(name, body)

    productive = _fixpoint(bodies, _nonempty)
    nullable = _fixpoint(bodies, _nullable)

    def clean(node: ir.Node) -> ir.Node:
        def repl(r: ir.Ref) -> ir.Node:
            if r.name not in productive:
                return ir.NOTHING
            return ir.alt(r, ir.EPSILON) if r.name in nullable else r
        return substitute(node, repl)

    top = clean(top)
    # Only the rules the cleaned start can still reach are kept.
    names = [grammar.start]
    kept: list[str] = []
    seen: set[str] = set()
    frontier = [top]
    while frontier:
        for r in sorted(refs_in(frontier.pop())):
            if r not in seen:
                seen.add(r)
                kept.append(r)
                frontier.append(clean(bodies[r]))
    return names + kept, [top] + [clean(bodies[r]) for r in kept], nullable & set(kept)


def _inline_recursive(start: str, top: ir.Node, bodies: dict[str, ir.Node]) -> tuple[ir.Node, dict[str, ir.Node]]:
    """Substitute recursive rules into the others (and the start's outermost context `top`) while
    that leaves every cycle cut by a rule that refers to itself: fewer rules means fewer pushes and
    bigger, faster rule DFAs (JSON's value/array/object become one `value` rule).

    The choice is made on the reference graph (removing a rule links its referrers to its
    references); the removed rules then form a DAG under the kept ones and expand in one pass.
    Where that would nest deeper than `MAX_IR_DEPTH` (a long cycle of rules), nothing is merged;
    a rule that would make a user's body (counted as a tree: the NFA copies every use) larger
    than `MAX_MERGED_SIZE` nodes stays a rule of its own (SQL's expression levels, each used
    several times by the next, would otherwise multiply into one huge automaton).
    """
    meter = current()
    graph = {name: set(refs_in(body)) for name, body in bodies.items()}
    size = {name: _tree_size(body) for name, body in {**bodies, start: top}.items()}
    uses = {name: _ref_counts(body) for name, body in {**bodies, start: top}.items()}
    for name in list(bodies):
        meter.check()
        if name == start or name in graph[name]:
            continue
        users = [p for p, count in uses.items() if count.get(name) and p != name]
        if any(size[p] + uses[p][name] * (size[name] - 1) > MAX_MERGED_SIZE for p in users):
            continue  # inlining would copy a big rule into a user too often: it stays a rule
        succ = graph.pop(name)
        for refs in graph.values():
            if name in refs:
                refs.discard(name)
                refs |= succ
        for p in users:
            times = uses[p].pop(name)
            size[p] += times * (size[name] - 1)
            for r, count in uses[name].items():
                uses[p][r] = uses[p].get(r, 0) + times * count
        del uses[name], size[name]
    try:
        expanded = inline_rules({**bodies, start: top}, [start, *graph], set(graph))
    except NestingTooDeepError:
        return top, bodies  # too deep to merge: every recursive rule stays a rule of its own
    return expanded[start], {name: expanded[name] for name in graph}


def _tree_size(node: ir.Node) -> int:
    """IR nodes of `node` counted as a tree (shared subtrees once per use), references as 1."""
    return fold(node, lambda n, parts: 1 + sum(parts), {})


def _ref_counts(node: ir.Node) -> dict[str, int]:
    """How many times each rule is referenced in `node`, counted as a tree."""
    def combine(n: ir.Node, parts: list[dict]) -> dict:
        if isinstance(n, ir.Ref):
            return {n.name: 1}
        out: dict[str, int] = {}
        for p in parts:
            for r, c in p.items():
                out[r] = out.get(r, 0) + c
        return out
    return fold(node, combine, {})


def _recursive_rules(grammar: Grammar, reachable: list[str]) -> set[str]:
    """Rules on a reference cycle: in a strongly connected component of more than one rule, or referring
    to themselves."""
    graph = {n: sorted(grammar.references(n)) for n in reachable}
    out: set[str] = set()
    for component in strongly_connected(reachable, graph.__getitem__):
        if len(component) > 1 or component[0] in graph[component[0]]:
            out.update(component)
    return out


def _check_context_free(name: str, body: ir.Node) -> None:
    """Intersection and complement of rule references are not context-free: refuse them."""
    stack = [body]
    seen: set[int] = set()  # inlined bodies share subtrees: visit each once
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, (ir.Intersect, ir.Complement)) and has_refs(n):
            raise GrammarError(
                f"rule {name!r} intersects or complements a recursive rule reference "
                f"({', '.join(sorted(refs_in(n)))}), which is not context-free", (name,))
        stack.extend(children(n))


def _fixpoint(bodies: dict[str, ir.Node], holds) -> set[str]:
    """The least set of rules S such that a rule is in S when `holds(body, S)` (`holds` is monotone
    in S, so a rule is decided again only when a rule it refers to joins S)."""
    meter = current()
    users: dict[str, list[str]] = {}
    for name, body in bodies.items():
        for r in refs_in(body):
            users.setdefault(r, []).append(name)
    true: set[str] = set()
    todo = list(bodies)
    while todo:
        name = todo.pop()
        if name in true:
            continue
        meter.tick()
        if holds(bodies[name], true):
            true.add(name)
            todo.extend(u for u in users.get(name, ()) if u not in true)
    return true


def _nullable(node: ir.Node, rules: set[str]) -> bool:
    """Does `node` match the empty string, given the nullable rules?"""
    return _holds(node, rules, False, lambda dfa: bool(dfa.accept[0]))


def _nonempty(node: ir.Node, rules: set[str]) -> bool:
    """Does `node` match anything at all, given the productive rules? (Byte sets are never empty:
    the constructors drop empty sets.)"""
    return _holds(node, rules, True, lambda dfa: not dfa.is_empty)


def _holds(node: ir.Node, rules: set[str], byte_set: bool, of_dfa) -> bool:
    """A property that holds for a reference to a rule in `rules`, for a sequence when it holds for
    every part, an alternation for some option, a repetition of at least one copy for its body
    (always for none), a byte set when `byte_set`, and for a (reference-free) automaton by `of_dfa`.
    Shared subtrees are decided once."""
    def combine(n: ir.Node, parts: list[bool]) -> bool:
        if isinstance(n, ir.Ref):
            return n.name in rules
        if isinstance(n, ir.Seq):
            return all(parts)
        if isinstance(n, ir.Alt):
            return any(parts)
        if isinstance(n, ir.Repeat):
            return n.min == 0 or parts[0]
        if isinstance(n, ir.Members):
            return _members_hold(n, parts)
        if isinstance(n, (ir.Intersect, ir.Complement, ir.Automaton, ir.Splice)):
            return of_dfa(build_dfa(n))
        return byte_set
    return fold(node, combine, {})


def _members_hold(n: ir.Members, parts: list[bool]) -> bool:
    """`_holds` of `Members` from its parts' (entries, extras if any, separator), read off its
    plain form: a sequence holds when every part does, a repetition that may be empty always."""
    count = len(n.entries)
    entry, sep = parts[:count], parts[-1]
    extras = n.extras is not None and parts[count]
    result = extras  # the members from position `count` on, at least one: extras only
    rest = True  # every required member from position i on (after a separator) holds
    for i in reversed(range(count)):
        first = entry[i] and rest
        result = first if n.entries[i][1] else first or result
        if n.entries[i][1]:
            rest = rest and sep and entry[i]
    return result
