"""`RegistryServer`: the registry's lifecycle (bind, serve in background or foreground, stop).

Besides serving HTTP it runs one maintenance thread: stale upload sessions are purged once they
received nothing for `purge_uploads_after` seconds, and repositories' stored lifecycle policies
are applied every `lifecycle_interval` seconds (None: never automatically).
"""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path

from registry.auth import Authorizer
from registry.errors import RegistryError
from registry.http import API_VERSION, RegistryApp
from registry.lifecycle import apply_lifecycle
from registry.storage import Storage
from registry.wire import HTTPServer

__all__ = ["RegistryServer", "DEFAULT_PURGE_UPLOADS_AFTER"]

log = logging.getLogger("skiff.registry")

DEFAULT_PURGE_UPLOADS_AFTER = 24 * 3600.0


class RegistryServer:
    """An OCI registry serving the storage in `data_dir` on `host:port`.

    `port=0` picks a free port; read the real one from `.port` after `start()`. Without
    `auth_file` the registry is open to anyone who can reach the port (and logs so); with one,
    the rules of `registry.auth` apply, and a change to the file applies without a restart.
    `tls_cert`/`tls_key` (PEM files) serve HTTPS.
    """

    def __init__(self, data_dir: str | Path, host: str = "127.0.0.1", port: int = 5000, *,
                 auth_file: str | Path | None = None, tls_cert: str | Path | None = None,
                 tls_key: str | Path | None = None,
                 purge_uploads_after: float = DEFAULT_PURGE_UPLOADS_AFTER,
                 lifecycle_interval: float | None = 3600.0) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self._requested_port = port
        self.storage = Storage(self.data_dir)
        self.auth_file = Path(auth_file) if auth_file else None
        self.authorizer: Authorizer | None = None
        if self.auth_file is not None:
            self.authorizer = Authorizer.from_file(self.auth_file, self._is_public)
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TLS needs both a certificate and a key file")
        self.ssl_context: ssl.SSLContext | None = None
        if tls_cert is not None:
            self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ssl_context.load_cert_chain(str(tls_cert), str(tls_key))
        self.purge_uploads_after = float(purge_uploads_after)
        self.lifecycle_interval = lifecycle_interval
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._maintenance: threading.Thread | None = None
        self._stopping = threading.Event()
        self._serving = False

    def _is_public(self, name: str) -> bool:
        return self.storage.repository(name).info().public

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
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host}:{self.port}"

    def _bind(self) -> HTTPServer:
        if self._httpd is None:
            app = RegistryApp(self.storage, self.authorizer)
            self._httpd = HTTPServer((self.host, self._requested_port), app,
                                     ssl_context=self.ssl_context,
                                     default_headers=dict([API_VERSION]))
            scheme = "https" if self.ssl_context else "http"
            if self.authorizer is None:
                log.warning("registry listening on %s://%s:%d, data in %s; OPEN: no auth file, "
                            "anyone who can reach this port can push and pull",
                            scheme, self.host, self.port, self.data_dir)
            else:
                log.info("registry listening on %s://%s:%d, data in %s; auth from %s (%d users)",
                         scheme, self.host, self.port, self.data_dir, self.auth_file,
                         len(self.authorizer.config.users))
            self._start_maintenance()
        return self._httpd

    def start(self) -> "RegistryServer":
        """Serve in a background daemon thread; returns self once the port is bound."""
        if self._thread is not None:
            return self
        httpd = self._bind()
        self._serving = True
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.5},
                                        name=f"skiff-registry-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (KeyboardInterrupt) or `stop()`ped."""
        httpd = self._bind()
        self._serving = True
        try:
            httpd.serve_forever(poll_interval=0.5)
        finally:
            self._stopping.set()
            self._httpd = None
            httpd.close_connections()
            httpd.server_close()

    def stop(self) -> None:
        """Stop serving, close open connections and release the port. Safe to call twice.

        Call it from another thread than the one running `serve_forever()`.
        """
        self._stopping.set()
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
        if self._maintenance is not None:
            self._maintenance.join(timeout=10)
            self._maintenance = None
        log.info("registry on port %d stopped", httpd.server_address[1])

    # -- maintenance

    def _start_maintenance(self) -> None:
        self._stopping.clear()
        self._maintenance = threading.Thread(target=self._maintain, daemon=True,
                                             name="skiff-registry-maintenance")
        self._maintenance.start()

    def maintain_once(self, *, lifecycle: bool = False) -> None:
        """One maintenance pass: purge stale uploads (and apply lifecycle policies)."""
        purged = self.storage.uploads.purge(self.purge_uploads_after)
        if purged:
            log.info("purged %d upload session(s) idle for more than %.0fs", len(purged),
                     self.purge_uploads_after)
        if lifecycle:
            for name in self.storage.repositories():
                repository = self.storage.repository(name)
                try:
                    if not repository.info().lifecycle:
                        continue
                    expired = apply_lifecycle(repository)
                except RegistryError as exc:
                    log.warning("lifecycle policy of %s not applied: %s", name, exc)
                    continue
                if expired:
                    log.info("lifecycle policy of %s expired %d image(s)", name, len(expired))

    def _maintain(self) -> None:
        self.storage.empty_trash()
        interval = min(max(self.purge_uploads_after / 4, 0.2), 600.0)
        elapsed_lifecycle = 0.0
        while not self._stopping.is_set():
            run_lifecycle = (self.lifecycle_interval is not None
                             and elapsed_lifecycle >= self.lifecycle_interval)
            try:
                self.maintain_once(lifecycle=run_lifecycle)
            except Exception:
                log.exception("registry maintenance failed")
            if run_lifecycle:
                elapsed_lifecycle = 0.0
            if self._stopping.wait(interval):
                return
            elapsed_lifecycle += interval

    def __enter__(self) -> "RegistryServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
