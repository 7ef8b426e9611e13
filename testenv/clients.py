"""Clients of the `kubernetes` package for a started test environment, acting as a given user by token."""

from __future__ import annotations

from kubernetes import client

from testenv import controlplane, users


def api_client(env: controlplane.TestEnv, cluster: str, user: str = users.ADMIN) -> client.ApiClient:
    """An ApiClient for ``cluster`` that authenticates as ``user`` (a name from DIR/users.json)."""
    target = env.cluster(cluster)
    configuration = client.Configuration()
    configuration.host = target.server
    configuration.ssl_ca_cert = str(target.ca_file)
    configuration.api_key = {"authorization": env.token(user)}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(configuration)
