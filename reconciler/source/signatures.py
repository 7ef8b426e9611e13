"""Verified commits: is a commit signed by a key the installation lists?

git does the cryptography (``git verify-commit``, ``git log --format=%G?``); this module only points it at keys that
come from outside the repository and reads its verdict. SSH keys are an allowed-signers file (the format of git's
``gpg.ssh.allowedSignersFile``); GPG keys are an exported public keyring, imported into a private GNUPGHOME that the
reconciler owns, so neither the user's keyring nor a key inside the repository can vouch for a commit.

A commit is accepted only when ``git verify-commit`` succeeds *and* git reports a good signature: for SSH, git
reports ``U`` for a key that is not in the allowed-signers file and ``verify-commit`` fails; for GPG, every key of the
private keyring was listed on purpose, so a good signature of unknown trust (``U``) is accepted.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.errors import ReconcilerError

TIMEOUT_SECONDS = 60
_FORMAT = "%G?%x00%GK%x00%GS%x00%GF"

# What each of git's %G? letters means for a commit that is held.
_HELD_BECAUSE = {
    "N": "unsigned",
    "E": "unknown-key",  # GPG: the key is not in the keyring (git cannot check it)
    "U": "unknown-key",  # SSH: a valid signature by a key that is not in the allowed-signers file
    "B": "bad-signature",
    "X": "expired-signature",
    "Y": "expired-key",
    "R": "revoked-key",
}
_ADVICE = {
    "unsigned": "sign it (git commit -S) with a listed key and push a new commit",
    "unknown-key": "list the signer's key in the allowed-signers file or GPG keyring given to the reconciler, "
                   "or have a listed signer sign a new commit",
    "bad-signature": "the commit does not match its signature (changed after signing); push a newly signed commit",
    "expired-signature": "re-sign with a key that is valid now",
    "expired-key": "re-sign with a key that is valid now",
    "revoked-key": "re-sign with a key that is not revoked",
    "not-verified": "check the keys given to the reconciler; git could not confirm the signature",
}


class KeysError(ReconcilerError):
    """The keys given to verify commits cannot be used (missing, unreadable, not a keyring)."""


@dataclass(frozen=True)
class Verdict:
    """git's verdict on one commit's signature; ``reason`` is None when the commit may be applied."""

    commit: str
    status: str  # git's %G? letter
    key: str  # %GK: the key id or SSH fingerprint, "" when unsigned
    signer: str  # %GS: the principal (SSH) or user id (GPG) git matched, "" when none
    reason: str | None  # unsigned | unknown-key | bad-signature | expired-... | revoked-key | not-verified
    brought_by: str = ""  # the tip that would bring this commit, when the held commit is one of its ancestors

    @property
    def accepted(self) -> bool:
        return self.reason is None

    def describe(self) -> str:
        """One sentence for /status and the log: which commit, which signer (or none), and what to do."""
        if self.accepted:
            return f"commit {self.commit[:12]} is signed by {self.signer or self.key}"
        who = "no signature" if self.status == "N" else f"key {self.key or '?'}" + (
            f" ({self.signer})" if self.signer else "")
        if self.brought_by:
            return (f"commit {self.brought_by[:12]} is held: it brings commit {self.commit[:12]}, which is not "
                    f"signed by a listed key: {self.reason} ({who}); every commit since the last applied one must "
                    "be signed: rewrite those commits signed (for example squash them into one signed commit)")
        return f"commit {self.commit[:12]} is held: {self.reason} ({who}); {_ADVICE[self.reason or 'not-verified']}"


@dataclass(frozen=True)
class TrustedKeys:
    """Where git finds the listed keys; at least one of the two is set."""

    allowed_signers: Path | None  # SSH: git's gpg.ssh.allowedSignersFile
    gnupg_home: Path  # a private GNUPGHOME: the imported GPG keyring, or empty when only SSH keys are listed

    def environment(self) -> dict[str, str]:
        """git's environment for verifying: no system or global config (it could name other keys), our keyring."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG")}
        env.update(GNUPGHOME=str(self.gnupg_home), GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
        return env

    def options(self) -> list[str]:
        # An empty allowed-signers file makes every SSH signature unknown when only GPG keys are listed.
        signers = self.allowed_signers or Path(os.devnull)
        return ["-c", f"gpg.ssh.allowedSignersFile={signers}", "-c", "gpg.minTrustLevel=undefined"]


def prepare(allowed_signers: Path | None, gpg_keys: Path | None, home: Path) -> TrustedKeys:
    """Check the SSH allowed-signers file and import the GPG keyring into the private GNUPGHOME ``home``."""
    if allowed_signers is not None:
        _readable(allowed_signers, "--verify-signatures", "an SSH allowed-signers file (see docs/operations.md)")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)  # gpg refuses a home others can read
    # Verifying needs no agent; without this line every gpg call would leave a gpg-agent daemon behind.
    (home / "gpg.conf").write_text("no-autostart\n")
    if gpg_keys is not None:
        _readable(gpg_keys, "--verify-gpg-keys", "a public keyring (gpg --export KEYID > FILE)")
        _import_keyring(gpg_keys, home)
    return TrustedKeys(allowed_signers, home)


def _readable(path: Path, option: str, what: str) -> None:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise KeysError(f"{option} {path}: cannot read it ({exc.strerror}); pass {what}") from exc
    if not text.strip():
        raise KeysError(f"{option} {path}: the file is empty, so no commit could ever be applied; pass {what}")


def _import_keyring(keys: Path, home: Path) -> None:
    command = ["gpg", "--batch", "--no-tty", "--homedir", str(home), "--status-fd", "1", "--import", str(keys)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except FileNotFoundError as exc:
        raise KeysError("--verify-gpg-keys needs gpg (GnuPG) on PATH; install gnupg") from exc
    imported = [line for line in completed.stdout.splitlines() if line.startswith("[GNUPG:] IMPORT_OK")]
    if completed.returncode != 0 or not imported:
        reason = completed.stderr.strip().splitlines()[-1:] or [f"exit status {completed.returncode}"]
        raise KeysError(f"--verify-gpg-keys {keys}: no public key could be imported ({reason[0]}); export the "
                        "signers' keys with gpg --export KEYID > FILE")


def verify(repository: Path, commit: str, keys: TrustedKeys) -> Verdict:
    """git's verdict on ``commit`` of ``repository`` (a work tree or a bare mirror) against ``keys``."""
    shown = _git(repository, keys, "log", "-1", f"--format={_FORMAT}", commit)
    status, key, signer, fingerprint = [*shown.stdout.rstrip("\n").split("\0"), "", "", ""][:4]
    status = status or "N"
    verified = _git(repository, keys, "verify-commit", commit).returncode == 0
    if verified and status in ("G", "U"):
        return Verdict(commit, status, fingerprint or key, signer, None)
    reason = _HELD_BECAUSE.get(status, "not-verified")
    return Verdict(commit, status, fingerprint or key, signer, reason)


def verify_new(repository: Path, commit: str, applied: str | None, keys: TrustedKeys) -> Verdict:
    """git's verdict on ``commit`` and on every commit it brings since ``applied`` (the last applied revision):
    a listed key signing the tip does not vouch for an unsigned commit pushed before it. Without ``applied``
    (nothing applied yet, or it is no longer in the repository) only the tip is judged."""
    tip = verify(repository, commit, keys)
    if not tip.accepted or applied is None:
        return tip
    listed = _git(repository, keys, "rev-list", commit, f"^{applied}", "--")
    for ancestor in listed.stdout.split() if listed.returncode == 0 else []:
        verdict = tip if ancestor == commit else verify(repository, ancestor, keys)
        if not verdict.accepted:
            return replace(verdict, brought_by=commit)
    return tip


def _git(repository: Path, keys: TrustedKeys, *args: str) -> subprocess.CompletedProcess[str]:
    command = ["git", "-C", str(repository), *keys.options(), *args]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, env=keys.environment(),
                                   timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError as exc:
        raise ReconcilerError("git is not installed or not on PATH; it verifies commit signatures") from exc
    except subprocess.TimeoutExpired as exc:
        raise ReconcilerError(f"git {args[0]} {args[-1][:12]} took over {TIMEOUT_SECONDS}s in {repository}") from exc
    if args[0] == "log" and completed.returncode != 0:
        raise ReconcilerError(f"cannot read commit {args[-1][:12]} in {repository}: {completed.stderr.strip()}")
    return completed
