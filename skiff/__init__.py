"""The `skiff` command: the composition root.

It starts each component (etcd, registry, control plane, agent) and calls the
control-plane API as a client. It may import every package; nothing imports it.
"""
