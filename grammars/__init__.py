"""The grammars shipped with structgen (llama.cpp's GBNF), loadable by name.

Installed as ``structgen.grammars`` (the repository keeps the files in its
top-level ``grammars/`` folder, mapped into the package at build time):

>>> import structgen.grammars
>>> structgen.grammars.names()
['arithmetic', 'csv', 'json', 'smiles', 'sql']
>>> text = structgen.grammars.load("sql")           # or a path to any .gbnf file

``structgen generate --grammar sql`` and ``structgen check --grammar json``
take the same names. The corpora of valid and invalid strings in
``corpus/`` are the tests' and are not installed.
"""

from __future__ import annotations

import os

from structgen.files import read_shipped_or_path, shipped_names

SUFFIX = ".gbnf"


def names() -> list[str]:
    """The names of the shipped grammars, sorted."""
    return shipped_names(__name__, SUFFIX)


def load(name_or_path: str | os.PathLike) -> str:
    """The GBNF text of the shipped grammar `name_or_path` (see `names`), or of the file at that path.

    A shipped name wins over a file of the same name in the current folder
    (write ``./json`` for that file).

    Raises
    ------
    InvalidArgumentError
        Neither a shipped name nor a readable UTF-8 file.
    """
    return read_shipped_or_path(name_or_path, __name__, SUFFIX, "grammar")
