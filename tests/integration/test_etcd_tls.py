"""The control plane's store on an external etcd that wants TLS and client certificates."""

from __future__ import annotations

import datetime as dt

import pytest

from controlplane.store import EtcdStore, EtcdTls, StoreUnavailable
from skiffcore import pki
from skiffharness.processes import EtcdProcess

pytestmark = pytest.mark.integration


def test_store_connects_to_etcd_with_a_client_certificate(tmp_path):
    ca = pki.CertificateAuthority.create("etcd")
    files = {}
    for name, role, kwargs in (("server", pki.CONTROL_PLANE, {"ip_addresses": ("127.0.0.1",)}),
                               ("client", pki.AGENT, {})):
        key = pki.new_key()
        files[name] = (tmp_path / f"{name}.crt", tmp_path / f"{name}.key")
        files[name][0].write_bytes(ca.issue(pki.csr_for(key), name, role, dt.timedelta(hours=1),
                                            **kwargs))
        files[name][1].write_bytes(pki.key_pem(key))
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    etcd = EtcdProcess(tmp_path / "etcd", client_tls=(*files["server"], tmp_path / "ca.crt"))
    etcd.start()
    try:
        tls = EtcdTls(str(tmp_path / "ca.crt"), str(files["client"][0]), str(files["client"][1]))
        store = EtcdStore.connect(etcd.endpoint, tls=tls)
        try:
            store.commit(puts={"/skiff/v1/probe": b"1"})
            assert store.get("/skiff/v1/probe").value == b"1"
        finally:
            store.close()
        # Without a client certificate (or without TLS) etcd does not answer.
        for refused in (EtcdTls(str(tmp_path / "ca.crt")), None):
            store = EtcdStore.connect(etcd.endpoint, timeout=2, tls=refused)
            try:
                with pytest.raises(StoreUnavailable):
                    store.get("/skiff/v1/probe")
            finally:
                store.close()
    finally:
        etcd.stop()
