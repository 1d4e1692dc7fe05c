"""Secret names and the references task definitions make to them (pure: no I/O).

A secret's name follows AWS Secrets Manager: 1-512 ASCII letters, digits and ``/_+=.@-``. Its
ARN is ``arn:skiff:secretsmanager:local:000000000000:secret:NAME``.

A task definition names a secret in ``containerDefinitions[].secrets[].valueFrom`` and
``repositoryCredentials.credentialsParameter`` by its name or its ARN. So that a task
definition written for ECS registers unchanged, an AWS ARN is accepted too and stands for the
Skiff secret of the same name: ``arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`` (the
name as written, with any random suffix AWS added) and ``arn:aws:ssm:REGION:ACCOUNT:parameter/NAME``.
ECS's JSON-key, version-stage and version-id suffixes (``...:secret:NAME:KEY:STAGE:ID``) are
refused: Skiff keeps one version of a secret, and injects it whole.

    assert secret_reference("db-password") == ("db-password", None)
    assert secret_reference(secret_arn("db/password")) == ("db/password", None)
"""

from __future__ import annotations

import re

__all__ = ["MAX_SECRET_BYTES", "SECRET_ARN_PREFIX", "name_problem", "secret_arn",
           "secret_reference"]

SECRET_ARN_PREFIX = "arn:skiff:secretsmanager:local:000000000000:secret:"
MAX_SECRET_BYTES = 64 * 1024  # as SecretString
_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}", re.ASCII)
_SECRETS_MANAGER_ARN = re.compile(r"arn:[a-z-]+:secretsmanager:[^:]*:[^:]*:secret:(.*)", re.ASCII)
_SSM_ARN = re.compile(r"arn:[a-z-]+:ssm:[^:]*:[^:]*:parameter(/.*)", re.ASCII)


def name_problem(name: str) -> str | None:
    """Why `name` is not a valid secret name, or None."""
    if not _NAME.fullmatch(name):
        return (f"a secret name is 1-512 letters, digits and /_+=.@- characters, got "
                f"{_shown(name)}")
    return None


def secret_arn(name: str) -> str:
    return SECRET_ARN_PREFIX + name


def secret_reference(value: str) -> tuple[str, str | None]:
    """The secret name a `valueFrom` or `credentialsParameter` refers to, and what is wrong
    with it (None when it is a valid reference)."""
    match = _SECRETS_MANAGER_ARN.fullmatch(value)
    if value.startswith(SECRET_ARN_PREFIX) or match:
        name = value[len(SECRET_ARN_PREFIX):] if value.startswith(SECRET_ARN_PREFIX) \
            else match.group(1)  # type: ignore[union-attr]  # one of the two matched
        if ":" in name:
            return name, ("JSON keys, version stages and version ids (ARN:KEY:STAGE:ID) are "
                          "not supported: Skiff injects the whole secret")
        return name, name_problem(name)
    ssm = _SSM_ARN.fullmatch(value)
    if ssm:
        name = ssm.group(1)
        # SSM names its hierarchy "/a/b" in an ARN as "parameter/a/b"; a flat name "p" as
        # "parameter/p": the secret is "/a/b" or "p".
        name = name if name.count("/") > 1 else name[1:]
        return name, name_problem(name)
    if value.startswith("arn:"):
        return value, ("an ARN of a secret must be arn:skiff:secretsmanager:...:secret:NAME "
                       "(or an AWS Secrets Manager or SSM parameter ARN), got "
                       f"{_shown(value)}")
    return value, name_problem(value)


def _shown(text: str) -> str:
    """A name as an error shows it: it is not secret, but it may be long."""
    return repr(text if len(text) <= 80 else text[:77] + "...")
