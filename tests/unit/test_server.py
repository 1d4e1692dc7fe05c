"""Where other control-plane processes reach this one."""

import socket

import click
import pytest

from controlplane.server import advertised_address
from skiff.cli import host_port


def test_a_specific_listen_address_is_advertised_with_the_bound_port():
    assert advertised_address("127.0.0.1:0", 41234) == "127.0.0.1:41234"
    assert advertised_address("[::1]:7070", 7070) == "[::1]:7070"
    assert advertised_address("cp1.lab:7070", 7070) == "cp1.lab:7070"


def test_listening_everywhere_advertises_the_host_name():
    for listen in ("0.0.0.0:7070", "[::]:7070", "[::0]:7070", "[0:0:0:0:0:0:0:0]:7070", ":7070"):
        assert advertised_address(listen, 7070) == f"{socket.gethostname()}:7070"


def test_an_advertised_address_needs_a_port():
    assert host_port("cp1.lab:7070") == "cp1.lab:7070"
    assert host_port("[fd00::1]:7070") == "[fd00::1]:7070"
    for bad in ("cp1.lab", "cp1.lab:", ":7070", "cp1.lab:http", "cp1.lab:70000"):
        with pytest.raises(click.BadParameter, match="HOST:PORT"):
            host_port(bad)
