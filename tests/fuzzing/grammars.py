"""Random small context-free grammars, written as GBNF, and an Earley recognizer that judges them.

Why Earley: it recognises every context-free grammar (left recursion,
ambiguity, empty rules) with no preprocessing to get wrong, so it shares
nothing with structgen's pushdown compiler. A grammar is drawn once as a
structure; `gbnf` writes it for structgen and `Earley` reads the structure.

Items are ("lit", "ab"), ("cls", "abc") (a character class) and ("ref", i),
each with a quantifier "", "?", "*" or "+". A rule is a list of
alternatives, an alternative a list of items. Rule 0 is `root`.
"""

from __future__ import annotations

from hypothesis import strategies as st

CHARS = "ab(é"


def _item(n_rules: int):
    lit = st.builds(lambda s: ("lit", s), st.text(st.sampled_from(CHARS), min_size=1, max_size=2))
    cls = st.builds(lambda s: ("cls", "".join(sorted(s))), st.sets(st.sampled_from(CHARS), min_size=1, max_size=3))
    ref = st.builds(lambda i: ("ref", i), st.integers(0, n_rules - 1))
    return st.tuples(st.one_of(lit, cls, ref), st.sampled_from(["", "", "", "?", "*", "+"]))


@st.composite
def grammars(draw, max_rules: int = 3):
    """A list of rules; rule i's alternatives are lists of (item, quantifier)."""
    n = draw(st.integers(1, max_rules))
    return [draw(st.lists(st.lists(_item(n), max_size=3), min_size=1, max_size=3)) for _ in range(n)]


def _gbnf_item(item) -> str:
    kind, value = item
    if kind == "lit":
        return '"' + value + '"'
    if kind == "cls":
        return "[" + value + "]"
    return "root" if value == 0 else f"r{value}"


def gbnf(rules) -> str:
    """The grammar as GBNF text (`root` is rule 0; an empty alternative is `""`)."""
    lines = []
    for i, alts in enumerate(rules):
        body = " | ".join(
            " ".join(("(" + _gbnf_item(it) + ")" + q) if q else _gbnf_item(it) for it, q in alt) or '""'
            for alt in alts
        )
        lines.append(f"{'root' if i == 0 else f'r{i}'} ::= {body}")
    return "\n".join(lines) + "\n"


class Earley:
    """Recognizer for the language of `rules` (characters as terminals)."""

    def __init__(self, rules):
        self.prods: dict = {}  # nonterminal -> list of symbol tuples; a terminal is a frozenset of chars
        for i, alts in enumerate(rules):
            self.prods[("rule", i)] = [tuple(self._symbols(alt)) for alt in alts]

    def _symbols(self, alt):
        out = []
        for item, q in alt:
            syms = self._item(item)
            if not q:
                out += syms
                continue
            name = ("q", item, q)
            if name not in self.prods:
                seq = tuple(syms)
                self.prods[name] = {"?": [(), seq], "*": [(), seq + (name,)], "+": [seq, seq + (name,)]}[q]
            out.append(name)
        return out

    @staticmethod
    def _item(item):
        kind, value = item
        if kind == "lit":
            return [frozenset(c) for c in value]
        if kind == "cls":
            return [frozenset(value)]
        return [("rule", value)]

    def recognizes(self, text: str) -> bool:
        start = ("rule", 0)
        chart = [set() for _ in range(len(text) + 1)]
        chart[0] = {(start, rhs, 0, 0) for rhs in self.prods[start]}
        for k in range(len(text) + 1):
            agenda = list(chart[k])
            while agenda:
                lhs, rhs, dot, origin = agenda.pop()
                if dot < len(rhs):
                    sym = rhs[dot]
                    if isinstance(sym, frozenset):
                        if k < len(text) and text[k] in sym:
                            chart[k + 1].add((lhs, rhs, dot + 1, origin))
                        continue
                    for prod in self.prods[sym]:  # predict
                        new = (sym, prod, 0, k)
                        if new not in chart[k]:
                            chart[k].add(new)
                            agenda.append(new)
                    if any(i[0] == sym and i[2] == len(i[1]) and i[3] == k for i in chart[k]):  # nullable, done
                        new = (lhs, rhs, dot + 1, origin)
                        if new not in chart[k]:
                            chart[k].add(new)
                            agenda.append(new)
                else:  # complete
                    for p_lhs, p_rhs, p_dot, p_origin in list(chart[origin]):
                        if p_dot < len(p_rhs) and p_rhs[p_dot] == lhs:
                            new = (p_lhs, p_rhs, p_dot + 1, p_origin)
                            if new not in chart[k]:
                                chart[k].add(new)
                                agenda.append(new)
        return any(lhs == start and dot == len(rhs) and origin == 0 for lhs, rhs, dot, origin in chart[-1])
