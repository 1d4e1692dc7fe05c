"""Where other control-plane processes reach this one."""

import socket

from controlplane.server import advertised_address


def test_a_specific_listen_address_is_advertised_with_the_bound_port():
    assert advertised_address("127.0.0.1:0", 41234) == "127.0.0.1:41234"
    assert advertised_address("[::1]:7070", 7070) == "[::1]:7070"


def test_listening_everywhere_advertises_the_host_name():
    for listen in ("0.0.0.0:7070", "[::]:7070", ":7070"):
        assert advertised_address(listen, 7070) == f"{socket.gethostname()}:7070"
