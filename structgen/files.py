"""Text files the user names: a path, or the name of a file shipped inside the package.

`structgen.grammars` (GBNF grammars) and `structgen.examples` (JSON Schemas)
ship files that are loaded by name (``json``, ``hiking_trail``) anywhere a
path is taken, so that they work from an installed package as well as from
a checkout.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .errors import InvalidArgumentError


def read_text_file(path: str | os.PathLike, option: str) -> str:
    """The UTF-8 text of the file at `path`, given as argument `option`.

    Raises
    ------
    InvalidArgumentError
        The file cannot be read (missing, a folder, no permission) or is not UTF-8.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InvalidArgumentError(option, f"cannot read {option} file {str(path)!r}: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidArgumentError(option, f"{str(path)!r} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                                           f"{e.start})") from None


def shipped_names(package: str, suffix: str) -> list[str]:
    """The names (file names without `suffix`) of the files ending in `suffix` shipped in `package`, sorted."""
    return sorted(f.name.removesuffix(suffix) for f in resources.files(package).iterdir()
                  if f.name.endswith(suffix) and f.is_file())


def read_shipped_or_path(name_or_path: str | os.PathLike, package: str, suffix: str, option: str) -> str:
    """The text of the file `name_or_path` names: a file shipped in `package` (its name without
    `suffix`), or else a path. A shipped name wins over a file of the same name in the current
    folder (write ``./json`` for that file).

    Raises
    ------
    InvalidArgumentError
        Neither a shipped name nor a readable UTF-8 file (for a bare name, the
        message lists the shipped ones).
    """
    names = shipped_names(package, suffix)
    if isinstance(name_or_path, str) and name_or_path in names:
        return resources.files(package).joinpath(name_or_path + suffix).read_text(encoding="utf-8")
    path = Path(name_or_path)
    if not path.exists() and path.name == str(name_or_path) and not path.suffix:  # meant as a name
        raise InvalidArgumentError(option, f"no shipped {option} named {str(name_or_path)!r} and no such file "
                                           f"(shipped: {', '.join(names)})")
    return read_text_file(name_or_path, option)
