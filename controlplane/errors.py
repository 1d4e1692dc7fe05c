"""The control plane's errors. Translated to gRPC status codes only at the wire (api.py).

    ControlPlaneError
    ├── InvalidParameter   bad input; names the field; nothing was changed
    ├── NotFound           the named cluster, task definition, task or instance does not exist
    ├── Busy               optimistic-concurrency retries ran out (retriable)
    ├── Unauthenticated    no credential, or one that is not valid; says how to get one
    └── PermissionDenied   a valid caller without the right; names who and what
"""


class ControlPlaneError(Exception):
    """Base of the control plane's errors."""


class InvalidParameter(ControlPlaneError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class NotFound(ControlPlaneError):
    """The named object does not exist."""


class Busy(ControlPlaneError):
    """Too many concurrent writers on the same keys; try again."""


class Unauthenticated(ControlPlaneError):
    """No credential, or one that is not valid (gRPC UNAUTHENTICATED)."""


class PermissionDenied(ControlPlaneError):
    """A valid caller without the right (gRPC PERMISSION_DENIED)."""
