"""``reconciler run``: its flags, and the controller's settings built from them in one place."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.cli import flags as cli_flags
from reconciler.cli import guardrails as guardrails_cli

if TYPE_CHECKING:
    from reconciler.controller.settings import Settings

# Fields of Settings that no flag gives as it is: read from a file, parsed, or named differently on the command line.
DERIVED = frozenset({"contexts", "git_token", "webhook_secret", "guardrails"})


def _duration(text: str) -> float:
    from reconciler.config.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_command(commands: argparse._SubParsersAction[Any]) -> None:
    run = commands.add_parser(
        "run", help="follow a branch and converge every commit, undoing drift (the in-cluster controller)",
        description="Follow one branch of the environments repository: check it every --interval (or at once when "
        "POST /hooks/git is called), validate each new commit and converge every cluster to it; a bad commit "
        "changes nothing and is reported on /status. Every --resync the clusters are converged again, which undoes "
        "drift. SIGTERM finishes the object being written, then exits 0. See docs/operations.md.",
    )
    run.add_argument("--repo", required=True, metavar="URL",
                     help="https://, ssh:// or git@host:path URL, file:// URL or local path of the repository")
    run.add_argument("--branch", default="main", help="the branch to follow (default: main)")
    run.add_argument("--path", default="", metavar="SUBDIR", help="the environments repository's folder in it")
    run.add_argument("--interval", type=_duration, default=30.0, help="how often to check the branch (default 30s)")
    run.add_argument("--resync", type=_duration, default=300.0, help="how often to converge again (default 5m)")
    run.add_argument("--cluster", help="converge only this cluster (needs credentials for no other)")
    run.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig with the clusters' contexts")
    cli_flags.add_context(run)
    run.add_argument("--listen", default=":8080", metavar="ADDR",
                     help="address of /healthz /readyz /metrics /status /hooks/git (default :8080)")
    run.add_argument("--workdir", type=Path, default=None,
                     help="where the git mirror and checkouts live (default $TMPDIR/reconciler)")
    run.add_argument("--max-backoff", type=_duration, default=300.0,
                     help="longest wait before retrying a failed cluster (default 5m)")
    run.add_argument("--leader-elect", action="store_true",
                     help="run several replicas; on each cluster only the holder of that cluster's Lease writes")
    run.add_argument("--lease-namespace", default="reconciler-system", help="namespace of the Leases")
    run.add_argument("--lease-cluster", help="ignored, kept for old command lines: each cluster's Lease now lives on "
                     "that cluster")
    run.add_argument("--lease-name", help="name of the Lease (default reconciler, or reconciler-CLUSTER)")
    run.add_argument("--lease-duration", type=_duration, default=15.0, help="lease duration (default 15s)")
    run.add_argument("--git-token-file", type=Path, help="file holding an https token (or $RECONCILER_GIT_TOKEN)")
    run.add_argument("--git-username", help="user name sent with the token (default x-access-token)")
    run.add_argument("--ssh-key", type=Path, help="private key for ssh URLs")
    run.add_argument("--known-hosts", type=Path, help="known_hosts file for ssh URLs (hosts are always checked)")
    run.add_argument("--webhook-secret-file", type=Path,
                     help="HMAC secret of POST /hooks/git (or $RECONCILER_WEBHOOK_SECRET); without one the webhook "
                     "is disabled")
    run.add_argument("--verify-signatures", type=Path, metavar="FILE",
                     help="apply only commits signed by a key of this SSH allowed-signers file (git's "
                     "gpg.ssh.allowedSignersFile format); other commits are held and shown on /status")
    run.add_argument("--verify-gpg-keys", type=Path, metavar="FILE",
                     help="also accept commits signed by a key of this exported GPG public keyring (imported into a "
                     "private keyring of the reconciler); alone, it is the only list of signers")
    run.add_argument("--approvals", type=Path, metavar="FILE",
                     help="commits released from a risk hold: one commit id (12 hex digits or more) per line, re-read "
                     "at every check; mount it from a ConfigMap that only the installation's owners may change")
    guardrails_cli.add_argument(run)
    run.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    run.add_argument("--log-format", default="auto", choices=("auto", "json", "text"),
                     help="auto: JSON lines unless stderr is a terminal")
    run.set_defaults(handler=_run)



def settings(args: argparse.Namespace) -> Settings:
    """The controller's settings: every flag whose destination is a field of :class:`Settings` (a flag not given
    keeps the field's default), plus the secrets read from their files and the guardrails file parsed."""
    from reconciler.controller.settings import Settings, read_secret

    given = {field.name: getattr(args, field.name) for field in fields(Settings)
             if field.name not in DERIVED and getattr(args, field.name, None) is not None}
    return Settings(**given, contexts=tuple(args.context),
                    git_token=read_secret(args.git_token_file, "RECONCILER_GIT_TOKEN"),
                    webhook_secret=read_secret(args.webhook_secret_file, "RECONCILER_WEBHOOK_SECRET"),
                    guardrails=guardrails_cli.given(args))


def _run(args: argparse.Namespace) -> int:
    from reconciler.controller import logs
    from reconciler.controller.loop import Controller

    logs.setup(args.log_level, None if args.log_format == "auto" else args.log_format == "json")
    chosen = settings(args)
    logs.register_secret(chosen.git_token)
    logs.register_secret(chosen.webhook_secret)
    return Controller(chosen).run()
