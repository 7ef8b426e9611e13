"""API errors split by meaning; each names the cluster, the object and what the server said."""

from __future__ import annotations

import json

from reconciler.errors import ReconcilerError


class KubeError(ReconcilerError):
    """A request to a cluster failed."""

    def __init__(self, cluster: str, subject: str, status: int, message: str, reason: str = "") -> None:
        self.cluster = cluster
        self.subject = subject
        self.status = status
        self.reason = reason
        self.message = message
        super().__init__(f"cluster {cluster}: {subject}: {message}" + (f" (HTTP {status})" if status else ""))


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    pass


class Forbidden(KubeError):
    pass


class Unauthorized(Forbidden):
    """HTTP 401: the server did not accept the credential (expired, revoked, or rotated since it was read)."""


class Invalid(KubeError):
    pass


class ServerError(KubeError):
    pass


class Unreachable(KubeError):
    """The cluster could not be reached at all (connection refused, DNS, TLS, timeout)."""


# Server-side apply answers HTTP 500 when the object it was sent does not fit its kind's schema (an unknown field, a
# wrong type, two entries of one key in a keyed list, a quantity that does not parse): words about the content, which
# a create answers with 400, not a server that failed.
SCHEMA_REFUSALS = ("failed to create typed patch object", "failed to convert new object")


def refuses_content(error: KubeError) -> bool:
    """The server refused what it was sent (invalid, or not of its kind's schema): sending it again is refused again."""
    return error.status in (400, 422) or (error.status == 500 and error.message.startswith(SCHEMA_REFUSALS))


class ConnectionConfigError(ReconcilerError):
    """Credentials for a cluster could not be found or read."""


def from_response(cluster: str, subject: str, status: int, body: bytes | str) -> KubeError:
    """Build the error a caller can act on from the server's ``Status`` body."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    reason, message = "", text.strip()[:500]
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            reason = str(parsed.get("reason", ""))
            message = str(parsed.get("message", message))
    except ValueError:
        pass
    kind: type[KubeError] = {404: NotFound, 409: Conflict, 403: Forbidden, 401: Unauthorized, 422: Invalid}.get(
        status, ServerError if status >= 500 else KubeError
    )
    return kind(cluster, subject, status, message, reason)
