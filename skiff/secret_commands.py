"""`skiff secret put|ls|describe|rm`: secrets tasks use as environment variables (a task
definition's `secrets[].valueFrom`) or as registry logins (`repositoryCredentials`).

A value goes to the control plane and never comes back: these commands print names, ARNs,
descriptions and times only (`--json` in Secrets Manager's response shapes). The value is read
from `--file` (byte for byte) or from stdin (one trailing newline dropped, so `echo` works; on
a terminal it is asked for without echo); it is never an argument, which would leave it in
the shell's history and the process list.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from skiff import ecs_json
from skiff.clikit import Api, api_command, fail, print_json, print_table
from skiffapi.v1 import controlplane_pb2 as pb

__all__ = ["add_secret_commands"]


def add_secret_commands(cli: click.Group) -> None:
    cli.add_command(secret)


@click.group()
def secret() -> None:
    """Secrets for tasks: stored sealed, given only to the agent of a task that starts."""


@secret.command("put")
@click.argument("name")
@click.option("--file", "value_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the value from this file (exactly its contents, UTF-8).")
@click.option("--description", default=None, help="What the secret is for (kept when not given).")
@api_command
def secret_put(api: Api, name: str, value_file: Path | None, description: str | None,
               as_json: bool) -> None:
    """Create secret NAME, or replace its value; the value comes from --file or stdin."""
    value = _read_value(value_file)
    request = pb.PutSecretRequest(name=name, value=value)
    if description is not None:
        request.description = description
    reply = api.PutSecret(request)
    if as_json:
        return print_json({"ARN": reply.secret.arn, "Name": reply.secret.name})
    click.echo(f"{'created' if reply.created else 'updated'} secret {reply.secret.name} "
               f"({reply.secret.arn})")


@secret.command("ls")
@api_command
def secret_ls(api: Api, as_json: bool) -> None:
    """Every secret: name, last change, description (never a value)."""
    secrets = api.ListSecrets(pb.ListSecretsRequest()).secrets
    if as_json:
        return print_json({"SecretList": [_secret_json(s) for s in secrets]})
    print_table(["NAME", "UPDATED", "DESCRIPTION"],
                [[s.name, ecs_json.timestamp(s.updated_at_ms), s.description] for s in secrets])


@secret.command("describe")
@click.argument("name")
@api_command
def secret_describe(api: Api, name: str, as_json: bool) -> None:
    """A secret's metadata (NAME or its ARN); its value is never shown."""
    s = api.DescribeSecret(pb.DescribeSecretRequest(name=name)).secret
    if as_json:
        return print_json(_secret_json(s))
    for label, value in (("Name", s.name), ("ARN", s.arn), ("Description", s.description),
                         ("Created", ecs_json.timestamp(s.created_at_ms)),
                         ("Updated", ecs_json.timestamp(s.updated_at_ms))):
        click.echo(f"{label + ':':<13}{value or ''}")


@secret.command("rm")
@click.argument("name")
@api_command
def secret_rm(api: Api, name: str, as_json: bool) -> None:
    """Delete a secret at once; running tasks keep what they started with."""
    gone = api.DeleteSecret(pb.DeleteSecretRequest(name=name)).secret
    if as_json:
        return print_json({"ARN": gone.arn, "Name": gone.name})
    click.echo(f"deleted secret {gone.name}")


def _read_value(value_file: Path | None) -> str:
    try:
        if value_file is not None:
            return value_file.read_bytes().decode()
        if sys.stdin.isatty():
            return click.prompt("Secret value", hide_input=True)
        text = sys.stdin.read()
    except UnicodeDecodeError:
        fail("the secret value must be UTF-8 text (it becomes an environment variable)")
        raise  # unreachable: fail exits
    return text[:-1] if text.endswith("\n") else text


def _secret_json(s: pb.Secret) -> dict:
    return {"ARN": s.arn, "Name": s.name, "Description": s.description,
            "CreatedDate": ecs_json.timestamp(s.created_at_ms),
            "LastChangedDate": ecs_json.timestamp(s.updated_at_ms)}
