"""Long-lived worker processes that load the model once and run one schema at a time under timeouts.

Why processes: a compile that hangs or a native engine that crashes must cost one schema, not the
run. The parent waits for each message of a task with its own timeout (compile, then generation);
on a timeout it kills the worker, and the next task starts a fresh one (which loads the model again).

Why spawn (not fork): forking a process whose torch thread pool has run hangs the child, and
CUDA cannot be forked at all; a spawned worker imports and loads everything itself.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Iterator


class WorkerTimeout(Exception):
    """The worker did not answer in time; it has been killed."""


class WorkerFailed(Exception):
    """The task raised in the worker, or the worker died; the message says what."""


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs to set itself up; plain values so that it pickles."""

    model: str = "default"  # "default" | "tiny" | a local Hugging Face model directory
    device: str = "cpu"
    threads: int = 1  # torch threads per worker
    load_model: bool = True  # False: tokenizer only (the test suite and mask checks need no model)
    max_tokens: int = 512
    temperature: float = 0.0
    sampler_temperature: float = 1.0  # AWRS/SMC sample by design; used when `temperature` is 0
    seed: int = 0
    log_path: str | None = None  # the worker's stderr goes here (native engines log to fd 2)
    setup_timeout: float = 600.0


class Worker:
    """Parent-side handle of one worker process; `run` sends a task and yields its messages."""

    def __init__(self, config: WorkerConfig):
        self.config = config
        self._process = None
        self._conn = None
        self._stopping = threading.Lock()

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, self.config), daemon=True)
        # The child inherits this thread's signal mask: SIGINT stays blocked until `_serve` ignores it,
        # so a Ctrl-C while the child imports cannot kill it with a traceback of its own.
        unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
        child.close()
        self._conn = parent
        kind, payload = self._receive(self.config.setup_timeout)
        if kind != "ready":
            self.stop()
            raise WorkerFailed(f"worker setup failed: {payload}")

    def _receive(self, timeout: float) -> tuple[str, Any]:
        conn, process = self._conn, self._process
        try:
            if conn is None:  # stopped by another thread meanwhile
                raise OSError("no pipe")
            if not conn.poll(timeout):
                self.stop()
                raise WorkerTimeout(f"no answer within {timeout:g} s")
            return conn.recv()
        except (EOFError, OSError) as error:  # OSError: the pipe was closed by `stop` in another thread
            code = process.exitcode if process is not None else None
            self.stop()
            raise WorkerFailed(f"worker process died (exit code {code})") from error

    def run(self, task: dict, timeouts: list[float]) -> Iterator[Any]:
        """Send one task; message i must arrive within timeouts[i] (the last one repeats)."""
        if self._process is None:
            self._start()
        conn = self._conn
        try:
            if conn is None:  # stopped by another thread meanwhile
                raise OSError("no pipe")
            conn.send(task)
        except OSError as error:
            self.stop()
            raise WorkerFailed("worker process stopped") from error
        for i in itertools.count():
            kind, payload = self._receive(timeouts[min(i, len(timeouts) - 1)])
            if kind == "done":
                return
            if kind == "failed":
                raise WorkerFailed(payload)
            yield payload

    def close(self, timeout: float = 10.0) -> None:
        """End an idle worker the way it ends itself: close the pipe, so that it returns and exits
        (a killed process cannot release what it registered, such as the semaphores of the libraries
        it loaded, and Python warns of "leaked semaphore objects" at exit); kill it after `timeout`."""
        process, conn = self._detach()
        if conn is not None:
            conn.close()
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join()

    def stop(self) -> None:
        """Kill the process (if any). Safe to call from any thread, at the same time as `run`:
        on Ctrl-C the main thread stops every worker while their threads still wait on them."""
        process, conn = self._detach()
        if process is not None:
            process.kill()
            process.join()
        if conn is not None:
            conn.close()

    def _detach(self):
        """Take the process and its pipe from this handle (once: a second caller gets Nones)."""
        with self._stopping:
            process, conn = self._process, self._conn
            self._process = self._conn = None
        return process, conn


# --- inside the worker --------------------------------------------------------------------------


def _serve(conn, config: WorkerConfig) -> None:
    # Ctrl-C reaches the whole process group; only the parent handles it (it stops the workers and
    # keeps the finished records). A worker dying of it first would look like an engine crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if config.log_path:
        log = os.open(config.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 2)
        sys.stderr = os.fdopen(2, "w", buffering=1)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from jsonschemabench.tasks import WorkerSession

        session = WorkerSession(config)
    except BaseException as error:
        traceback.print_exc()
        conn.send(("failed", f"{type(error).__name__}: {error}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        try:
            for message in session.handle(task):
                conn.send(("message", message))
            conn.send(("done", None))
        except BaseException as error:
            traceback.print_exc()
            conn.send(("failed", f"{type(error).__name__}: {error}"[:2000]))

