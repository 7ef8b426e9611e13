"""Real signing keys for tests: SSH keys made with ssh-keygen, GPG keys made with gpg in a throw-away keyring, and
git commits signed with them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.com"]


@dataclass(frozen=True)
class SigningKey:
    """A key git can sign with: ``format`` is git's gpg.format, ``key`` its user.signingkey."""

    name: str
    format: str  # "ssh" | "openpgp"
    key: str  # the private key file (ssh) or the fingerprint (gpg)
    public: str  # the public key line (ssh) or the fingerprint (gpg)


def _run(*command: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> bytes:
    completed = subprocess.run(command, capture_output=True, env=env, input=stdin, check=False)
    if completed.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {completed.stderr.decode().strip()}")
    return completed.stdout


class Keys:
    """SSH and GPG keys made for one test, under ``directory``; the GPG keyring lives in a short-named home."""

    def __init__(self, directory: Path, gnupg_home: Path) -> None:
        self.directory = directory
        self.gnupg_home = gnupg_home
        directory.mkdir(parents=True, exist_ok=True)

    def ssh(self, name: str) -> SigningKey:
        path = self.directory / f"{name}.key"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path))
        return SigningKey(name, "ssh", str(path), (self.directory / f"{name}.key.pub").read_text().strip())

    def gpg(self, name: str) -> SigningKey:
        user_id = f"{name} <{name}@example.com>"
        _run("gpg", "--batch", "--passphrase", "", "--quick-gen-key", user_id, "ed25519", "sign", "never",
             env=self.gpg_env())
        listing = _run("gpg", "--batch", "--with-colons", "--list-keys", user_id, env=self.gpg_env()).decode()
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        return SigningKey(name, "openpgp", fingerprint, fingerprint)

    def gpg_env(self) -> dict[str, str]:
        return {**os.environ, "GNUPGHOME": str(self.gnupg_home)}

    def allowed_signers(self, *keys: SigningKey, name: str = "allowed_signers") -> Path:
        """An allowed-signers file listing ``keys``: ``<principal> <key type> <public key>`` per line."""
        path = self.directory / name
        path.write_text("".join(f"{key.name}@example.com {key.public}\n" for key in keys))
        return path

    def export(self, *keys: SigningKey, name: str = "keyring.gpg") -> Path:
        path = self.directory / name
        path.write_bytes(_run("gpg", "--batch", "--export", *(key.key for key in keys), env=self.gpg_env()))
        return path

    def commit(self, work: Path, message: str, key: SigningKey | None) -> str:
        """Commit everything in ``work``, signed with ``key`` (unsigned with None); the new commit's hash."""
        signing = ["-c", "commit.gpgsign=false"]
        if key is not None:
            signing = ["-c", f"gpg.format={key.format}", "-c", f"user.signingkey={key.key}",
                       "-c", "commit.gpgsign=true"]
        _run("git", "-C", str(work), "add", "-A")
        _run("git", "-C", str(work), *IDENTITY, *signing, "commit", "--quiet", "--allow-empty", "-m", message,
             env=self.gpg_env())
        return _run("git", "-C", str(work), "rev-parse", "HEAD").decode().strip()

    def tamper(self, work: Path, commit: str) -> str:
        """A copy of the signed ``commit`` with another message and the same signature: a bad signature."""
        raw = _run("git", "-C", str(work), "cat-file", "commit", commit)
        return _run("git", "-C", str(work), "hash-object", "-t", "commit", "-w", "--stdin",
                    stdin=_replace_message(raw)).decode().strip()


def _replace_message(raw: bytes) -> bytes:
    """The commit with its message changed; the signature header (before the blank line) is kept as it is."""
    headers, _, message = raw.partition(b"\n\n")
    return headers + b"\n\n" + b"changed after signing: " + message


@contextmanager
def keys(directory: Path) -> Iterator[Keys]:
    """Keys under ``directory``; the GPG home is short-named (gpg-agent's socket path is limited) and its agent is
    stopped afterwards."""
    home = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp"))
    home.chmod(0o700)
    try:
        yield Keys(directory, home)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
