"""Kubeconfig files for the test clusters, written as JSON (valid YAML, read by kubectl and every client).

The CA is embedded, so a kubeconfig can be copied elsewhere (e.g. into a Secret) and still verify the server.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Endpoint:
    name: str
    server: str
    ca_file: Path


def write(path: Path, endpoints: Sequence[Endpoint], tokens: Mapping[str, str], context_user: str | None) -> None:
    """One context per endpoint and user in ``tokens``.

    With ``context_user`` set, only that user gets contexts, named after the clusters (``shared``, ``gpu``);
    otherwise every user does, named ``<user>@<cluster>``.
    """
    users = [context_user] if context_user else list(tokens)
    contexts = [
        {
            "name": endpoint.name if context_user else f"{user}@{endpoint.name}",
            "context": {"cluster": endpoint.name, "user": user},
        }
        for user in users
        for endpoint in endpoints
    ]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": endpoint.name,
                "cluster": {
                    "server": endpoint.server,
                    "certificate-authority-data": base64.b64encode(endpoint.ca_file.read_bytes()).decode(),
                },
            }
            for endpoint in endpoints
        ],
        "users": [{"name": user, "user": {"token": tokens[user]}} for user in users],
        "contexts": contexts,
        "current-context": contexts[0]["name"] if contexts else "",
        "preferences": {},
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
