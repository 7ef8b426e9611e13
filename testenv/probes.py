"""HTTP(S) health checks against the started components, with the standard library only."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def get(url: str, *, ca_file: Path | None = None, token: str | None = None, timeout: float = 2.0) -> tuple[int, str]:
    """Status and body of a GET; status 0 when nothing answered. Without ``ca_file`` TLS is not verified
    (the controller manager serves a self-signed certificate it makes at start)."""
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else ssl._create_unverified_context()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def is_ok(url: str, *, ca_file: Path | None = None, token: str | None = None) -> bool:
    status, _ = get(url, ca_file=ca_file, token=token)
    return status == 200


def version(server: str, ca_file: Path, token: str) -> dict[str, Any]:
    status, body = get(f"{server}/version", ca_file=ca_file, token=token)
    if status != 200:
        raise RuntimeError(f"GET {server}/version answered {status}: {body[:200]}")
    result: dict[str, Any] = json.loads(body)
    return result
