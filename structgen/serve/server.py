"""Running the application: `bind` a socket, `serve` in the foreground, or `start` in a thread.

The socket is bound before the model loads, so a port that is taken (or a
host that does not exist) is refused at once; port 0 picks a free port,
which `Running.url` reports.
"""

from __future__ import annotations

import socket
import threading

from structgen.errors import InvalidArgumentError


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv4 or IPv6; port 0: a free one).

    Raises
    ------
    InvalidArgumentError
        The port is outside 0..65535, or the address cannot be bound (taken, unknown host, no
        permission): ``name`` is "port" or "host".
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidArgumentError("port", f"must be an integer in 0..65535, got {port!r}")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError) as e:
        raise InvalidArgumentError("host", f"cannot resolve {host!r}: {e}") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as e:
        sock.close()
        raise InvalidArgumentError("port", f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(app, log_level: str, access_log: bool):
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, access_log=access_log, timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def serve(app, sock: socket.socket, *, log_level: str = "info", access_log: bool = False) -> None:
    """Serve ``app`` on ``sock`` until interrupted (uvicorn; Ctrl-C stops it gracefully)."""
    _server(app, log_level, access_log).run(sockets=[sock])


class Running:
    """A server running in a background thread (`start`); `stop` ends it."""

    def __init__(self, server, thread: threading.Thread, sock: socket.socket):
        self.server = server
        self.thread = thread
        self.sock = sock
        self.url = url_of(sock)

    def stop(self) -> None:
        """Stop taking connections, finish the open ones (5 s at most), and wait for the thread."""
        self.server.should_exit = True
        self.thread.join()
        self.sock.close()

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(app, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning") -> Running:
    """Serve ``app`` in a background thread; returns once it takes connections.

    Raises
    ------
    InvalidArgumentError
        As `bind`.
    RuntimeError
        The server stopped before it started (its log says why).
    """
    sock = bind(host, port)
    server = _server(app, log_level, access_log=False)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="structgen-serve", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("the server stopped before it started")
        thread.join(0.02)
    return Running(server, thread, sock)
