"""`skiff login`, `skiff context`, `skiff whoami`, `skiff user ...`, `skiff node join-token`
and `skiff node rm`: who the CLI is, and who may join and use the cluster.

Tokens are secrets: a new one is printed once (it is all the control plane ever shows of it)
and kept only in the client config (0600); nothing here logs one.
"""

from __future__ import annotations

from pathlib import Path

import click
import grpc

from skiff import ecs_json
from skiff.clikit import Api, api_command, fail, print_json, print_table
from skiffcore.contexts import ClientConfig, Context, ContextError
from skiffapi.v1 import controlplane_pb2 as pb

__all__ = ["add_security_commands"]

ROLES = ("viewer", "operator", "admin")


def add_security_commands(cli: click.Group, node: click.Group) -> None:
    cli.add_command(login)
    cli.add_command(context)
    cli.add_command(whoami)
    cli.add_command(user)
    node.add_command(node_join_token)
    node.add_command(node_rm)


@click.command()
@click.option("--endpoint", required=True, help="The control plane's API address, HOST:PORT.")
@click.option("--ca", "ca_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The cluster CA certificate (PEM).")
@click.option("--token", envvar="SKIFF_TOKEN", prompt=True, hide_input=True,
              help="Your user token (env SKIFF_TOKEN; asked for when not given).")
@click.option("--name", "context_name", default=None,
              help="Name of the context to keep them in (default: the endpoint).")
def login(endpoint: str, ca_file: Path, token: str, context_name: str | None) -> None:
    """Check a user token against a control plane and keep it as the current context."""
    candidate = Context(endpoint, ca_file.read_text(), token.strip())
    try:
        me = Api(candidate).WhoAmI(pb.WhoAmIRequest())
    except grpc.RpcError as exc:
        fail(f"login to {endpoint} failed: {exc.details() or exc.code().name}")
    candidate.user = me.name
    config = _config()
    config.put(context_name or endpoint, candidate)
    config.save()
    click.echo(f"logged in to {endpoint} as {me.name} ({me.role}); context "
               f"{context_name or endpoint} is current")


@click.group()
def context() -> None:
    """Client contexts: an endpoint, its CA and a user's token, like docker contexts."""


@context.command("ls")
def context_ls() -> None:
    config = _config()
    print_table(["", "NAME", "ENDPOINT", "USER", "TLS"],
                [["*" if name == config.current else "", name, c.endpoint, c.user,
                  "yes" if c.ca else "no"] for name, c in sorted(config.contexts.items())])


@context.command("use")
@click.argument("name")
def context_use(name: str) -> None:
    config = _config()
    try:
        config.use(name)
    except ContextError as exc:
        fail(str(exc))
    config.save()
    click.echo(f"context {name} is current")


@click.command()
@api_command
def whoami(api: Api, as_json: bool) -> None:
    """Who the control plane takes you for."""
    me = api.WhoAmI(pb.WhoAmIRequest())
    if as_json:
        return print_json({"kind": me.kind, "name": me.name, "role": me.role})
    click.echo(f"{me.name} ({me.role})")


@click.group()
def user() -> None:
    """Users of the API and their roles (admin only)."""


@user.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@api_command
def user_create(api: Api, name: str, role: str, as_json: bool) -> None:
    """Make a user; prints their token once (hand it to them for `skiff login`)."""
    reply = api.CreateUser(pb.CreateUserRequest(name=name, role=role))
    _print_token(reply.user, reply.token, as_json)


@user.command("ls")
@api_command
def user_ls(api: Api, as_json: bool) -> None:
    users = api.ListUsers(pb.ListUsersRequest()).users
    if as_json:
        return print_json({"users": [_user_json(u) for u in users]})
    print_table(["NAME", "ROLE", "CREATED"],
                [[u.name, u.role, ecs_json.timestamp(u.created_at_ms)] for u in users])


@user.command("rm")
@click.argument("name")
@api_command
def user_rm(api: Api, name: str, as_json: bool) -> None:
    removed = api.DeleteUser(pb.DeleteUserRequest(name=name)).user
    print_json({"user": _user_json(removed)}) if as_json else click.echo(f"removed {name}")


@user.group("token")
def user_token() -> None:
    """A user's token."""


@user_token.command("rotate")
@click.argument("name")
@api_command
def user_token_rotate(api: Api, name: str, as_json: bool) -> None:
    """A new token for NAME; the old one stops working at once."""
    reply = api.RotateUserToken(pb.RotateUserTokenRequest(name=name))
    _print_token(reply.user, reply.token, as_json)


@click.command("join-token")
@click.option("--rotate", is_flag=True,
              help="Make a new one: joins with the old token are refused, joined nodes stay.")
@api_command
def node_join_token(api: Api, rotate: bool, as_json: bool) -> None:
    """The token a new node joins with (`skiff agent serve --endpoint ... --join-token ...`)."""
    token = api.GetJoinToken(pb.GetJoinTokenRequest(rotate=rotate)).token
    print_json({"joinToken": token}) if as_json else click.echo(token)


@click.command("rm")
@click.argument("instance_id")
@click.option("--cluster", default="default", show_default=True)
@click.option("--force", is_flag=True, help="Also when tasks still run there (they are stopped).")
@api_command
def node_rm(api: Api, instance_id: str, cluster: str, force: bool, as_json: bool) -> None:
    """Deregister a container instance and revoke its agent's certificate."""
    gone = api.DeregisterContainerInstance(pb.DeregisterContainerInstanceRequest(
        cluster=cluster, container_instance=instance_id, force=force)).container_instance
    if as_json:
        return print_json({"containerInstance": ecs_json.container_instance(gone)})
    click.echo(f"deregistered {gone.instance_id}; its certificate is revoked")


def _print_token(created: pb.User, token: str, as_json: bool) -> None:
    if as_json:
        return print_json({"user": _user_json(created), "token": token})
    click.echo(f"user {created.name} ({created.role}); token (shown once):\n{token}")


def _user_json(u: pb.User) -> dict:
    return {"name": u.name, "role": u.role, "createdAt": ecs_json.timestamp(u.created_at_ms)}


def _config() -> ClientConfig:
    try:
        return ClientConfig.load()
    except ContextError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits
