"""`Stream`: a generation's text, piece by piece, as its tokens are chosen.

The samplers call a function with each token they append; a `Stream` runs
the generation in a background thread and hands the tokens' text to the
iterating thread as pieces of whole characters (a token can end inside a
multi-byte UTF-8 character; its bytes wait for the rest), so the pieces
join to exactly the result's text. Leaving the loop early stops the
generation at its next token.
"""

from __future__ import annotations

import codecs
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

_END = object()


class _Stopped(Exception):
    """Raised inside the generation thread when the stream was closed."""


class Stream:
    """The text pieces of one generation; its result once they are all out.

    Parameters
    ----------
    run : callable
        ``run(on_token)`` generates, calling ``on_token(token_id)`` for each
        output token, and returns the result.
    tokens : sequence of bytes
        What each token id adds to the text (``Vocabulary.tokens``).

    Notes
    -----
    The generation starts at the first ``next()``. Iterate to the end (or
    read `result`, which does), or call `close` to stop early; a `with`
    block closes the stream on exit.
    """

    def __init__(self, run: Callable[[Callable[[int], None]], Any], tokens):
        self._run = run
        self._tokens = tokens
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._done = False
        self._result = None
        self._error: BaseException | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        """The next piece of text (a non-empty string of whole characters).

        Raises
        ------
        StopIteration
            The generation has ended.
        Exception
            Whatever the generation raised.
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="structgen-stream", daemon=True)
            self._thread.start()
        while not self._done:
            piece = self._queue.get()
            if piece is _END:
                self._done = True
                self._thread.join()
                break
            return piece
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopIteration

    @property
    def result(self):
        """The generation's result (a `GenerationResult`), generating the rest of the text first.

        Raises
        ------
        Exception
            Whatever the generation raised.
        """
        for _ in self:
            pass
        return self._result

    def close(self) -> None:
        """Stop the generation at its next token (nothing more is generated) and wait for it."""
        self._closing = True
        if self._thread is not None and not self._done:
            while self._queue.get() is not _END:
                pass
            self._done = True
            self._thread.join()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _work(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")

        def on_token(token: int) -> None:
            if self._closing:
                raise _Stopped()
            piece = decoder.decode(self._tokens[token])
            if piece:
                self._queue.put(piece)

        try:
            self._result = self._run(on_token)
            piece = decoder.decode(b"", final=True)
            if piece:
                self._queue.put(piece)
        except _Stopped:
            pass
        except BaseException as error:  # handed to the iterating thread
            self._error = error
        finally:
            self._queue.put(_END)
