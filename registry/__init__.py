"""Skiff's bundled OCI registry: an OCI Distribution Spec v1.1 registry, standard library only.

Agents pull task images from it with plain `docker pull`; users push with `docker push`.
Thin HTTP handlers (`registry.http`) over a lean HTTP/1.1 server (`registry.wire`) sit over
content-addressed storage (`registry.storage`, layered over a storage driver; the on-disk
layout is drawn in `registry.storage.paths`); errors are OCI error codes (`registry.errors`);
who may do what is `registry.auth`; `registry.gc` collects garbage and `registry.lifecycle`
expires images by ECR-style rules; `registry.client` is a small client for the admin API. It
imports no other Skiff package.

    from registry import RegistryServer
    server = RegistryServer("/var/lib/skiff/registry", port=0).start()
    print(server.url)  # docker push 127.0.0.1:<port>/team/app:1 ... then server.stop()
"""

from registry.errors import RegistryError
from registry.server import RegistryServer
from registry.storage import Digest, Storage

__all__ = ["Digest", "RegistryError", "RegistryServer", "Storage"]
