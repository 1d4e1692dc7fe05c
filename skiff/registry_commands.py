"""`skiff registry ...`, `skiff repo ...` and `skiff image ls`: the registry's commands.

Attach them with `add_registry_commands(cli, registry)` (skiff/cli.py owns the groups).

Where each command acts, and why:

- `registry serve` runs the registry; `registry gc` works on the data directory itself, like
  distribution's `registry garbage-collect`: it is maintenance on the machine that holds the
  data, and it is safe while the server runs (see registry.gc).
- `repo ...` and `image ls` call the registry's admin API over HTTP(S), like `aws ecr ...` calls
  ECR: they work from any machine, with the same credentials as `docker login`, and the server
  checks who may create, list or delete what. They take `--registry` ($SKIFF_REGISTRY, default
  http://127.0.0.1:5000) and `--username`/`--password` ($SKIFF_REGISTRY_USERNAME,
  $SKIFF_REGISTRY_PASSWORD); without them, the current context's Skiff user name and token.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable

import click

from registry.auth import ACTIONS, AuthConfig, hash_password
from registry.client import AdminClient, RegistryUnavailable
from registry.errors import RegistryError

__all__ = ["add_registry_commands", "image", "registry_gc", "registry_hash_password",
           "registry_serve", "registry_user_add", "repo"]

DEFAULT_DATA = Path("/var/lib/skiff/registry")
DEFAULT_REGISTRY = "http://127.0.0.1:5000"


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from skiffcore.durations import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value, allow_zero=param.name == "min_age")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def add_registry_commands(cli_group: click.Group, registry_group: click.Group) -> None:
    """Attach these commands: `registry serve|gc|hash-password|user-add` to `registry_group`,
    and the `repo` and `image` groups to `cli_group` (merged into existing groups of those
    names, without replacing their commands)."""
    for name, command in (("serve", registry_serve), ("gc", registry_gc),
                          ("hash-password", registry_hash_password),
                          ("user-add", registry_user_add)):
        registry_group.add_command(command, name)
    for name, group in (("repo", repo), ("image", image)):
        existing = cli_group.commands.get(name)
        if isinstance(existing, click.Group) and existing is not group:
            for sub_name, sub in group.commands.items():
                existing.commands.setdefault(sub_name, sub)
        else:
            cli_group.add_command(group, name)


# ---------------------------------------------------------------------------------------------
# skiff registry serve | gc | hash-password | user-add


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--data", type=click.Path(path_type=Path), default=DEFAULT_DATA, show_default=True)
@click.option("--auth-file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="JSON users/rights file (see registry.auth); without it the "
              "registry is open to anyone who can reach it.")
@click.option("--tls-cert", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="PEM certificate (chain): serve HTTPS.")
@click.option("--tls-key", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="PEM private key of --tls-cert.")
@click.option("--purge-uploads-after", default="24h", show_default=True, callback=_duration,
              help="Delete upload sessions idle for this long (e.g. 30m, 24h, 7d).")
@click.option("--lifecycle-interval", default="1h", show_default=True, callback=_duration,
              help="How often repositories' lifecycle policies are applied.")
def registry_serve(host: str, port: int, data: Path, auth_file: Path | None,
                   tls_cert: Path | None, tls_key: Path | None, purge_uploads_after: float,
                   lifecycle_interval: float) -> None:
    """Serve the registry (OCI Distribution API v1.1) in the foreground."""
    from registry.server import RegistryServer

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        server = RegistryServer(data, host, port, auth_file=auth_file, tls_cert=tls_cert,
                                tls_key=tls_key, purge_uploads_after=purge_uploads_after,
                                lifecycle_interval=lifecycle_interval)
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    def terminate(*_: object) -> None:
        raise KeyboardInterrupt  # leave serve_forever through its cleanup

    signal.signal(signal.SIGTERM, terminate)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        _fail(f"cannot serve on {host}:{port}: {exc}")


@click.command("gc")
@click.option("--data", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_DATA,
              show_default=True)
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
@click.option("--min-age", default="1h", show_default=True, callback=_duration,
              help="Keep unreferenced blobs younger than this (a push in progress).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def registry_gc(data: Path, dry_run: bool, min_age: float, as_json: bool) -> None:
    """Delete blobs no manifest of any repository references (safe while serving)."""
    from registry.gc import collect_garbage
    from registry.storage import Storage

    if not (data / "blobs").is_dir() and not (data / "repositories").is_dir():
        _fail(f"{data} is not a registry data directory")
    report = collect_garbage(Storage(data), dry_run=dry_run, min_age=min_age)
    if as_json:
        click.echo(json.dumps({"dryRun": dry_run, "repositories": report.repositories,
                               "manifests": report.manifests, "blobs": report.blobs,
                               "inUse": report.marked, "keptRecent": report.kept_recent,
                               "deleted": [{"digest": d, "size": s} for d, s in report.deleted],
                               "freedBytes": report.freed_bytes}, indent=2))
        return
    verb = "would delete" if dry_run else "deleted"
    for digest, size in report.deleted:
        click.echo(f"{verb} {digest} ({_human(size)})")
    click.echo(report.summary())


@click.command("hash-password")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def registry_hash_password(password_stdin: bool) -> None:
    """Print a password hash for the auth file's `password_hash`."""
    click.echo(hash_password(_read_password(password_stdin)))


@click.command("user-add")
@click.argument("username")
@click.option("--auth-file", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The auth file to create or update.")
@click.option("--allow", "rules", multiple=True, metavar="PATTERN=ACTIONS",
              help="Rights, e.g. 'team/*=pull,push' or '*=pull' (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def registry_user_add(username: str, auth_file: Path, rules: tuple[str, ...],
                      password_stdin: bool) -> None:
    """Add (or replace) a user in an auth file (a running registry reads it at start)."""
    repositories: dict[str, list[str]] = {}
    for rule in rules:
        pattern, sep, actions = rule.partition("=")
        wanted = [a.strip() for a in actions.split(",") if a.strip()]
        if not sep or not pattern or not wanted or not all(a in (*ACTIONS, "*") for a in wanted):
            raise click.BadParameter(f"{rule!r}: expected PATTERN=ACTIONS with actions from "
                                     f"{', '.join(ACTIONS)} or *", param_hint="--allow")
        repositories[pattern] = wanted
    document: dict[str, Any] = {"users": {}}
    if auth_file.exists():
        try:
            document = json.loads(auth_file.read_text())
        except ValueError as exc:
            _fail(f"{auth_file} is not JSON: {exc}")
    document.setdefault("users", {})[username] = {
        "password_hash": hash_password(_read_password(password_stdin)),
        "repositories": repositories}
    try:
        AuthConfig.from_json(document, str(auth_file))
    except ValueError as exc:
        _fail(str(exc))
    tmp = auth_file.with_name(f".{auth_file.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(document, indent=2) + "\n")
    os.replace(tmp, auth_file)
    click.echo(f"user {username} written to {auth_file} (a registry serving it reads it again "
               f"within a second)")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            _fail("the passwords differ")
    if not password:
        _fail("empty password")
    return password


# ---------------------------------------------------------------------------------------------
# skiff repo ... / skiff image ls (over the admin API)


def _client_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--registry", "registry_url", envvar="SKIFF_REGISTRY",
                     default=DEFAULT_REGISTRY, show_default=True, help="The registry's URL."),
        click.option("--username", envvar="SKIFF_REGISTRY_USERNAME", default=None),
        click.option("--password", envvar="SKIFF_REGISTRY_PASSWORD", default=None),
        click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="CA certificate to trust for an https registry."),
        click.option("--insecure", is_flag=True, help="Do not verify the registry's TLS "
                     "certificate."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _client(kwargs: dict[str, Any]) -> AdminClient:
    url = kwargs.pop("registry_url")
    username, password = kwargs.pop("username"), kwargs.pop("password")
    ca_cert, insecure = kwargs.pop("ca_cert"), kwargs.pop("insecure")
    if username is None:
        # The registry knows the cluster's users: by default, the current context's user and
        # token (what `skiff login` or `skiff up` saved).
        from skiffcore.contexts import ClientConfig, ContextError

        try:
            context = ClientConfig.load().resolve(None)
        except (ContextError, OSError, ValueError):
            context = None
        if context is not None and context.user and context.token:
            username, password = context.user, context.token
    if username is not None and password is None:
        password = getpass.getpass(f"Password for {username}: ")
    return AdminClient(url, username, password, ca_file=ca_cert, insecure=insecure)


def _call(function: Callable[[], Any]) -> Any:
    try:
        return function()
    except RegistryError as exc:
        _fail(f"{exc.code}: {exc.message}")
    except RegistryUnavailable as exc:
        _fail(str(exc))


def _human(size: int | float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


@click.group("repo")
def repo() -> None:
    """Registry repositories (ECR-style): create, list, delete, lifecycle rules."""


@repo.command("create")
@click.argument("name")
@click.option("--immutable", is_flag=True, help="Existing tags cannot be pushed again.")
@click.option("--public", is_flag=True, help="Anyone may pull without credentials.")
@click.option("--json", "as_json", is_flag=True)
@_client_options
def repo_create(name: str, immutable: bool, public: bool, as_json: bool, **kwargs: Any) -> None:
    """Create repository NAME."""
    client = _client(kwargs)
    info = _call(lambda: client.create_repository(name, immutable=immutable, public=public))
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        flags = [f for f, on in (("immutable", immutable), ("public", public)) if on]
        click.echo(f"created {name}" + (f" ({', '.join(flags)})" if flags else ""))


@repo.command("ls")
@click.option("--json", "as_json", is_flag=True)
@_client_options
def repo_ls(as_json: bool, **kwargs: Any) -> None:
    """List repositories."""
    client = _client(kwargs)
    repositories = _call(client.list_repositories)
    if as_json:
        click.echo(json.dumps({"repositories": repositories}, indent=2))
        return
    _table([[r["name"], "yes" if r["immutable"] else "no", "yes" if r["public"] else "no",
             str(r["imageCount"]), str(r["tagCount"]), r["createdAt"][:19].replace("T", " ")]
            for r in repositories],
           ["NAME", "IMMUTABLE", "PUBLIC", "IMAGES", "TAGS", "CREATED"])


@repo.command("rm")
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete even when it still holds images.")
@_client_options
def repo_rm(name: str, force: bool, **kwargs: Any) -> None:
    """Delete repository NAME (its blobs go at the next `skiff registry gc`)."""
    client = _client(kwargs)
    _call(lambda: client.delete_repository(name, force=force))
    click.echo(f"deleted {name}")


@repo.group("lifecycle")
def repo_lifecycle() -> None:
    """Lifecycle rules (a subset of ECR's): expire untagged or surplus images."""


def _policy(untagged_days: int | None, keep_newest: int | None, tag_prefixes: tuple[str, ...],
            policy_file: Path | None) -> dict[str, Any] | None:
    if policy_file is not None:
        if untagged_days or keep_newest or tag_prefixes:
            raise click.UsageError("--policy-file excludes the rule options")
        try:
            return json.loads(policy_file.read_text())
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--policy-file") from None
    if tag_prefixes and keep_newest is None:
        raise click.UsageError("--tag-prefix goes with --keep-newest")
    rules: list[dict[str, Any]] = []
    if untagged_days is not None:
        rules.append({"rulePriority": len(rules) + 1, "action": {"type": "expire"},
                      "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                    "countUnit": "days", "countNumber": untagged_days}})
    if keep_newest is not None:
        selection: dict[str, Any] = {"tagStatus": "tagged" if tag_prefixes else "any",
                                     "countType": "imageCountMoreThan",
                                     "countNumber": keep_newest}
        if tag_prefixes:
            selection["tagPrefixList"] = list(tag_prefixes)
        rules.append({"rulePriority": len(rules) + 1, "action": {"type": "expire"},
                      "selection": selection})
    return {"rules": rules} if rules else None


def _print_expired(expired: list[dict[str, Any]], dry_run: bool) -> None:
    verb = "would expire" if dry_run else "expired"
    for item in expired:
        tags = ",".join(item["imageTags"]) or "<untagged>"
        click.echo(f"{verb} {item['imageDigest']} {tags} pushed {item['imagePushedAt'][:19]} "
                   f"({item['reason']})")
    click.echo(f"{len(expired)} image(s) {verb}")


@repo_lifecycle.command("set")
@click.argument("name")
@click.option("--expire-untagged-days", "untagged_days", type=click.IntRange(min=1), default=None,
              help="Expire untagged images pushed more than N days ago.")
@click.option("--keep-newest", type=click.IntRange(min=1), default=None,
              help="Keep only the newest N images (matching --tag-prefix, if given).")
@click.option("--tag-prefix", "tag_prefixes", multiple=True,
              help="With --keep-newest: only images with a tag starting so (repeatable).")
@click.option("--policy-file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="An ECR lifecycle policy JSON file instead of the options.")
@click.option("--dry-run", is_flag=True, help="Show what the rules would expire; store nothing.")
@_client_options
def repo_lifecycle_set(name: str, untagged_days: int | None, keep_newest: int | None,
                       tag_prefixes: tuple[str, ...], policy_file: Path | None, dry_run: bool,
                       **kwargs: Any) -> None:
    """Store NAME's lifecycle policy and apply it now (or, with --dry-run, only preview it)."""
    policy = _policy(untagged_days, keep_newest, tag_prefixes, policy_file)
    if policy is None:
        raise click.UsageError("give --expire-untagged-days, --keep-newest or --policy-file")
    client = _client(kwargs)
    if dry_run:
        _print_expired(_call(lambda: client.run_lifecycle(name, policy, dry_run=True)), True)
        return
    rules = _call(lambda: client.put_lifecycle(name, policy))
    click.echo(f"lifecycle policy of {name}: {len(rules)} rule(s)")
    _print_expired(_call(lambda: client.run_lifecycle(name)), False)


@repo_lifecycle.command("show")
@click.argument("name")
@_client_options
def repo_lifecycle_show(name: str, **kwargs: Any) -> None:
    """Print NAME's lifecycle policy (ECR's JSON)."""
    client = _client(kwargs)
    click.echo(json.dumps({"rules": _call(lambda: client.get_lifecycle(name))}, indent=2))


@repo_lifecycle.command("run")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Show what would expire; delete nothing.")
@_client_options
def repo_lifecycle_run(name: str, dry_run: bool, **kwargs: Any) -> None:
    """Apply NAME's stored lifecycle policy now."""
    client = _client(kwargs)
    _print_expired(_call(lambda: client.run_lifecycle(name, dry_run=dry_run)), dry_run)


@click.group("image")
def image() -> None:
    """Images in the registry."""


@image.command("ls")
@click.argument("repository")
@click.option("--json", "as_json", is_flag=True)
@_client_options
def image_ls(repository: str, as_json: bool, **kwargs: Any) -> None:
    """List REPOSITORY's images: tags, digest, size, push time (newest first)."""
    client = _client(kwargs)
    images = _call(lambda: client.images(repository))
    if as_json:
        click.echo(json.dumps({"repositoryName": repository, "imageDetails": images}, indent=2))
        return
    kinds = {"application/vnd.oci.image.index.v1+json": "index",
             "application/vnd.docker.distribution.manifest.list.v2+json": "index"}
    _table([[",".join(i["imageTags"]) or "<untagged>", i["imageDigest"][:19],
             _human(i["imageSizeInBytes"]), i["imagePushedAt"][:19].replace("T", " "),
             "artifact" if i.get("subject") else kinds.get(i["mediaType"], "image")]
            for i in images], ["TAGS", "DIGEST", "SIZE", "PUSHED", "TYPE"])
