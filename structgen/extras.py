"""The optional parts of structgen and the extras that install them.

The core (compiling, `Constraint`, masks, `structgen check`) needs numpy,
numba, jsonschema and regress only. Generating with a model needs the
``model`` extra; the benchmark harness needs ``bench`` (and ``model``);
the HTTP server (`structgen serve`) needs ``serve`` (and ``model``).
setup.cfg declares the extras; `EXTRAS` names their top-level packages.
"""

from __future__ import annotations

import importlib.util

from .errors import StructgenError

#: The packages each extra installs (import names; for these, also the distribution names).
EXTRAS = {"model": ("torch", "transformers", "gguf", "accelerate"), "bench": ("rich", "matplotlib"),
          "serve": ("fastapi", "uvicorn")}


class MissingExtraError(StructgenError, ImportError):
    """A part of structgen is used whose extra is not installed; the message names the extra."""

    def __init__(self, extra: str, purpose: str, missing: list[str]):
        self.extra = extra
        self.missing = missing
        super().__init__(f"{purpose} needs structgen's {extra!r} extra (not installed: {', '.join(missing)}); "
                         f"install structgen[{extra}], or: pip install {' '.join(EXTRAS[extra])}")


def require(extra: str, purpose: str) -> None:
    """Check that the packages of `extra` are installed (without importing them).

    Parameters
    ----------
    extra
        A key of `EXTRAS`.
    purpose
        What needs them, for the message (e.g. "generating").

    Raises
    ------
    MissingExtraError
        Naming the extra and the packages that are missing.
    """
    missing = [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(extra, purpose, missing)
