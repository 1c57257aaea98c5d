"""Context-free grammars: GBNF files and recursive schemas, compiled to a pushdown constraint."""

from .grammar import Grammar

__all__ = ["Grammar"]
