"""Example JSON Schemas shipped with structgen, loadable by name.

>>> import structgen.examples
>>> structgen.examples.names()
['hiking_trail']
>>> schema = structgen.examples.load("hiking_trail")   # a dict; or a path to any .json schema

``structgen generate --schema hiking_trail`` takes the same names.
"""

from __future__ import annotations

import json
import os

from structgen.files import read_shipped_or_path, shipped_names

SUFFIX = ".json"


def names() -> list[str]:
    """The names of the shipped example schemas, sorted."""
    return shipped_names(__name__, SUFFIX)


def read(name_or_path: str | os.PathLike) -> str:
    """The JSON text of the shipped example `name_or_path` (see `names`), or of the file at that path.

    Raises
    ------
    InvalidArgumentError
        Neither a shipped name nor a readable UTF-8 file.
    """
    return read_shipped_or_path(name_or_path, __name__, SUFFIX, "schema")


def load(name_or_path: str | os.PathLike):
    """The schema of the shipped example `name_or_path`, or of the JSON file at that path, parsed."""
    return json.loads(read(name_or_path))
