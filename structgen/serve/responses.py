"""The OpenAI-shaped response bodies: completions, their stream chunks, usage.

Each choice carries structgen's verdict in an extension object,
``"structgen": {"valid": ..., "reason": ...}`` (the openai client keeps
unknown fields: ``choice.structgen``). ``finish_reason`` is "length" when
the output was cut at ``max_tokens`` (never valid then, even where the
structure could have ended) and "stop" when it ended by itself.
"""

from __future__ import annotations

import json
import time
import uuid

from structgen import __version__

FINGERPRINT = f"structgen-{__version__}"


def new_id(kind: str) -> str:
    return f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{uuid.uuid4().hex}"


def finish_reason(result) -> str:
    """"length" for output cut off at max_tokens, else "stop"."""
    best = result.samples.best() if result.samples is not None else None
    cut = best.reason == "max_tokens" if best is not None else result.reason.startswith("incomplete output (max_tokens")
    return "length" if cut else "stop"


def verdict(result) -> dict:
    """The ``structgen`` extension of a choice: is the output valid, and if not, why; with
    ``"strict": false``, the schema keywords that were ignored (keyword and JSON pointer)."""
    out = {"valid": result.valid, "reason": result.reason}
    if result.ignored:
        out["ignored"] = [{"keyword": k, "pointer": p} for k, p in result.ignored]
    return out


def usage(contexts: list[list[int]], results) -> dict:
    """Token counts: each prompt once (also with n > 1), every choice's output tokens (end-of-sequence
    not counted)."""
    prompt = sum(len(c) for c in contexts)
    completion = sum(len(r.tokens) for r in results)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_body(job, results, model: str) -> dict:
    """The whole (non-streamed) response: ``chat.completion`` or ``text_completion``."""
    choices = []
    for index, result in enumerate(results):
        choice = {"index": index, "finish_reason": finish_reason(result), "logprobs": None,
                  "structgen": verdict(result)}
        if job.kind == "chat":
            choice["message"] = {"role": "assistant", "content": result.text, "refusal": None}
        else:
            choice["text"] = result.text
        choices.append(choice)
    return {"id": new_id(job.kind), "object": "chat.completion" if job.kind == "chat" else "text_completion",
            "created": int(time.time()), "model": model, "system_fingerprint": FINGERPRINT, "choices": choices,
            "usage": usage(job.contexts, results)}


class ChunkWriter:
    """The server-sent events of one streamed choice, in OpenAI's chunk format."""

    def __init__(self, job, model: str):
        self.job = job
        self.id = new_id(job.kind)
        self.created = int(time.time())
        self.model = model
        self.object = "chat.completion.chunk" if job.kind == "chat" else "text_completion"

    def _event(self, choices: list, **more) -> str:
        body = {"id": self.id, "object": self.object, "created": self.created, "model": self.model,
                "system_fingerprint": FINGERPRINT, "choices": choices, **more}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def _choice(self, text: str | None, finish: str | None = None, *, first: bool = False) -> dict:
        if self.job.kind == "chat":
            delta = {"role": "assistant", "content": ""} if first else ({} if text is None else {"content": text})
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}

    def start(self) -> str:
        """The opening chunk (chat: the assistant's role, no text); "" for completions."""
        return self._event([self._choice(None, first=True)]) if self.job.kind == "chat" else ""

    def piece(self, text: str) -> str:
        return self._event([self._choice(text)])

    def end(self, result) -> str:
        """The closing chunk (``finish_reason`` and the verdict), the usage chunk when asked for, and
        ``data: [DONE]``."""
        last = self._choice(None, finish_reason(result))
        last["structgen"] = verdict(result)
        out = self._event([last])
        if self.job.include_usage:
            out += self._event([], usage=usage(self.job.contexts, [result]))
        return out + "data: [DONE]\n\n"

    def error(self, error: dict) -> str:
        """An error after the stream began (the status line is out already): the error object, then
        ``data: [DONE]``."""
        return f"data: {json.dumps(error, ensure_ascii=False)}\n\ndata: [DONE]\n\n"
