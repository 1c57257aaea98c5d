"""Context-free grammars: GBNF files and recursive schemas, compiled to a pushdown constraint.

`gbnf.parse_gbnf` reads grammar text into a `Grammar` (rules of byte-level IR
with rule references); `pushdown` turns it into automaton tables and
`constraint.GrammarConstraint` serves them through the `Constraint` interface.
"""

from .constraint import GrammarConstraint, compile_grammar_ir
from .gbnf import parse_gbnf
from .grammar import Grammar

__all__ = ["Grammar", "GrammarConstraint", "compile_grammar_ir", "parse_gbnf"]
