"""`RegistryServer`: the registry's lifecycle (bind, serve in background or foreground, stop)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from registry.http import RegistryApp, RegistryHTTPServer
from registry.storage import Storage

__all__ = ["RegistryServer"]

log = logging.getLogger("skiff.registry")


class RegistryServer:
    """An OCI registry serving the storage in `data_dir` over plain HTTP on `host:port`.

    `port=0` picks a free port; read the real one from `.port` after `start()`.
    There is no authentication yet: anyone who can reach the port can push and pull.
    """

    def __init__(self, data_dir: str | Path, host: str = "127.0.0.1", port: int = 5000) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self._requested_port = port
        self.storage = Storage(self.data_dir)
        self._httpd: RegistryHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # socketserver's shutdown() blocks forever unless serve_forever() runs or ran.
        self._serving = False

    @property
    def port(self) -> int:
        """The port being served (the requested one until the server is bound)."""
        return self._httpd.server_address[1] if self._httpd else self._requested_port

    @property
    def url(self) -> str:
        """Base URL for clients on this machine, e.g. "http://127.0.0.1:5000"."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def _bind(self) -> RegistryHTTPServer:
        if self._httpd is None:
            self._httpd = RegistryHTTPServer((self.host, self._requested_port),
                                             RegistryApp(self.storage))
            log.info("registry listening on %s:%d, data in %s; open to anyone (no "
                     "authentication yet)", self.host, self.port, self.data_dir)
        return self._httpd

    def start(self) -> "RegistryServer":
        """Serve in a background daemon thread; returns self once the port is bound."""
        if self._thread is not None:
            return self
        httpd = self._bind()
        self._serving = True
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"skiff-registry-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (KeyboardInterrupt) or `stop()`ped."""
        httpd = self._bind()
        self._serving = True
        try:
            httpd.serve_forever(poll_interval=0.05)
        finally:
            self._httpd = None
            httpd.close_connections()
            httpd.server_close()

    def stop(self) -> None:
        """Stop serving, close open connections and release the port. Safe to call twice.

        Call it from another thread than the one running `serve_forever()`.
        """
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        if self._serving:
            httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        log.info("registry on port %d stopped", httpd.server_address[1])

    def __enter__(self) -> "RegistryServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
