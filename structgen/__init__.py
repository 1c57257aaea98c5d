"""structgen: language-model output guaranteed to match a JSON Schema, a regular expression or a grammar.

    import structgen
    out = structgen.generate({"type": "object", ...}, "Describe a hiking trail")
    out.value, out.valid, out.stats

The schema may be a Pydantic type (``out.value`` is then its instance), the
prompt a list of prompts (a list of results), ``model`` your own
transformers model and tokenizer (`TransformersLM`), and ``stream=True``
yields the text as it is generated. Inside transformers' own
``model.generate``: `structgen.integrations.transformers.LogitsProcessor`.

See docs/DESIGN.md for the parts: front ends -> byte automata -> `Constraint`
(start / advance / mask / is_accepting) -> samplers.
"""

__version__ = "0.1.0"

# Before numba, whose import makes a dummy `weakref.finalize` and so registers the exit hook that runs
# pending finalizers: multiprocessing's exit hook (which joins non-daemonic child processes) must be
# registered first so that it runs after that one (atexit is last in, first out). Otherwise a script that
# imports structgen before vLLM never exits: multiprocessing waits for vLLM's engine process before the
# engine's finalizer has told it to stop.
__import__("multiprocessing.util")

from .automata.budget import CompileBudget
from .compile import compile_grammar, compile_json_schema, compile_regex
from .compiler import Compiler
from .constraint import CompileInfo, Constraint
from .errors import (
    CompileBudgetError,
    GrammarError,
    GrammarSyntaxError,
    InvalidArgumentError,
    InvalidSchemaError,
    ModelLoadError,
    NestingTooDeepError,
    RegexSyntaxError,
    SchemaTooLargeError,
    StructgenError,
    UnsatisfiableSchemaError,
    UnsupportedRegexError,
    UnsupportedSchemaError,
)
from .extras import MissingExtraError
from .generation import GenerationResult, generate
from .protocol import ConstraintProtocol
from .sampling import Samples, sample, time_per_output_token

_LAZY = {"load_model": "lm", "load_tokenizer": "lm", "TransformersLM": "lm", "Vocabulary": "vocab"}


def __getattr__(name: str):
    # The language-model side pulls in torch and transformers (seconds to
    # import); compiling and checking constraints should not pay for that.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'structgen' has no attribute {name!r}")

__all__ = [
    "__version__", "CompileBudget", "CompileBudgetError", "CompileInfo", "Compiler", "Constraint", "ConstraintProtocol", "GenerationResult", "GrammarError", "GrammarSyntaxError", "InvalidArgumentError", "InvalidSchemaError", "MissingExtraError", "ModelLoadError", "NestingTooDeepError", "RegexSyntaxError",
    "Samples", "SchemaTooLargeError", "StructgenError", "TransformersLM", "UnsatisfiableSchemaError", "UnsupportedRegexError",
    "UnsupportedSchemaError", "Vocabulary", "compile_grammar", "compile_json_schema", "compile_regex", "generate",
    "load_model", "load_tokenizer", "sample", "time_per_output_token",
]
