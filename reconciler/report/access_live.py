"""Live proof of access: ask each cluster's authorizer what every subject git names may do in every target namespace,
and compare with what git declares.

For each subject (and two controls: a user in no team, an anonymous request) and each target namespace, a few
telling checks go to the API server as SubjectAccessReviews. What git expects comes from the declared ClusterRoles'
live rules. An allowed check git does not explain was granted out of band (a hand-made RoleBinding, a
ClusterRoleBinding); a denied check git declares is access that does not work (a binding missing or broken).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reconciler.config.model import Landscape, Target
from reconciler.kube import access_review
from reconciler.kube.access_review import Identity
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError
from reconciler.policy import access
from reconciler.policy.access import Grant, Subject

PARALLEL_REVIEWS = 8
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DISAGREE = 3


AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class Check:
    label: str
    verb: str
    group: str
    resource: str


CHECKS = (
    Check("get pods", "get", "", "pods"),
    Check("create pods", "create", "", "pods"),
    Check("read secrets", "get", "", "secrets"),
    Check("update resourcequotas", "update", "", "resourcequotas"),
    Check("create rolebindings", "create", "rbac.authorization.k8s.io", "rolebindings"),
)
# Identities git never grants anything: whatever they may do, git does not explain.
CONTROLS = {
    Subject("User", "access-check@reconciler.invalid"): ("a user in no team", Identity(
        "access-check@reconciler.invalid", (AUTHENTICATED,))),
    Subject("User", "system:anonymous"): ("an anonymous request", Identity("system:anonymous",
                                                                          ("system:unauthenticated",))),
}


@dataclass(frozen=True)
class Cell:
    """One check of one subject in one target namespace: what git expects and what the server answered."""

    cluster: str
    namespace: str
    environment: str
    subject: Subject
    via: str  # the holders git grants through ("team vision"), or what a control stands for
    roles: tuple[str, ...]  # the ClusterRoles git binds the subject to here
    check: Check
    expected: bool
    allowed: bool
    reason: str  # the authorizer's reason

    @property
    def agrees(self) -> bool:
        return self.expected == self.allowed

    def finding(self, checks: str | None = None) -> str:
        """What disagrees, where, and what to look at; ``checks`` names several checks with the same answer."""
        where = f"cluster {self.cluster} namespace {self.namespace} ({self.environment})"
        what = checks or self.check.label
        if self.allowed:
            declared = f"git grants it only {', '.join(self.roles)}" if self.roles else "git grants it nothing here"
            return (f"{where}: {self.subject} may {what}, which git does not explain ({declared}); "
                    f"granted out of band: {self.reason or 'the server gave no reason'}. Remove that grant, or "
                    "declare the access in the environments repository")
        return (f"{where}: {self.subject} may not {what}, though git binds it to "
                f"{', '.join(self.roles)}; the RoleBinding is missing or changed: converge with `reconciler apply`")


@dataclass
class LiveAccess:
    cells: list[Cell] = field(default_factory=list)
    missing_roles: list[str] = field(default_factory=list)  # declared ClusterRoles a cluster does not have
    errors: list[str] = field(default_factory=list)

    @property
    def disagreements(self) -> list[Cell]:
        return [cell for cell in self.cells if not cell.agrees]

    @property
    def agrees(self) -> bool:
        return not self.disagreements and not self.missing_roles

    def findings(self) -> list[str]:
        """One line per subject, namespace and answer: the checks that disagree for the same reason together."""
        grouped: dict[tuple[str, str, Subject, bool, str], list[Cell]] = {}
        for cell in self.disagreements:
            grouped.setdefault((cell.cluster, cell.namespace, cell.subject, cell.allowed, cell.reason), []).append(cell)
        lines = [cells[0].finding(", ".join(c.check.label for c in cells)) for cells in grouped.values()]
        return [*self.missing_roles, *lines]


@dataclass(frozen=True)
class AccessReport:
    """The matrix from git and, with clusters, what their authorizers answered."""

    environments: tuple[str, ...]
    matrix: dict[str, dict[str, tuple[str, ...]]]  # holder -> environment -> roles
    members: dict[str, tuple[Subject, ...]]
    grants: tuple[Grant, ...]
    live: LiveAccess | None  # None: git alone, no cluster asked

    @property
    def exit_code(self) -> int:
        if self.live is None:
            return EXIT_OK
        if self.live.errors:
            return EXIT_ERROR
        return EXIT_OK if self.live.agrees else EXIT_DISAGREE

    def verdict(self) -> str:
        if self.live is None:
            return "from git alone; pass --kubeconfig to check the clusters"
        if self.live.errors:
            return f"{len(self.live.errors)} cluster error(s): the check is incomplete"
        problems = len(self.live.findings())
        return "git and the clusters agree" if not problems else f"{problems} disagreement(s) between git and the " \
            "clusters"


def identity_of(subject: Subject) -> Identity:
    """The identity a request of ``subject`` carries: authenticated, and a service account's own groups."""
    if subject in CONTROLS:
        return CONTROLS[subject][1]
    if subject.kind == "Group":
        return Identity("", (subject.name, AUTHENTICATED))
    if subject.kind == "ServiceAccount":
        namespace, _, name = subject.name.partition("/")
        return Identity(f"system:serviceaccount:{namespace}:{name}",
                        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED))
    return Identity(subject.name, (AUTHENTICATED,))


def rules_allow(rules: list[dict[str, Any]], check: Check) -> bool:
    """Whether RBAC ``rules`` grant ``check`` on every object of its kind (rules limited to names do not)."""
    def matches(values: list[str] | None, wanted: str) -> bool:
        return bool(values) and ("*" in values or wanted in values)  # type: ignore[operator]

    return any(matches(rule.get("verbs"), check.verb) and matches(rule.get("apiGroups"), check.group)
               and matches(rule.get("resources"), check.resource) and not rule.get("resourceNames")
               for rule in rules)


def subjects_of(found: list[Grant], named: list[Subject]) -> list[Subject]:
    """Every subject git names (``named``: teams' members; ``found``: every grant), then the controls."""
    listed = dict.fromkeys([*named, *(s for grant in found for s in grant.subjects)])
    return [*sorted(listed), *CONTROLS]


def check_cluster(client: ClusterClient, targets: tuple[Target, ...], found: list[Grant],
                  subjects: list[Subject]) -> LiveAccess:
    """Every check of every subject in every target namespace of one cluster."""
    live = LiveAccess()
    rules: dict[str, list[dict[str, Any]] | None] = {}
    try:
        for role in sorted({grant.role for grant in found if grant.cluster == client.name}):
            rules[role] = access_review.cluster_role_rules(client, role)
            if rules[role] is None:
                live.missing_roles.append(f"cluster {client.name}: ClusterRole {role} does not exist, so the "
                                          "access git declares with it grants nothing; install it or change roles")
    except KubeError as error:
        live.errors.append(str(error))
        return live
    questions = [(target, subject, check) for target in targets for subject in subjects for check in CHECKS]
    with ThreadPoolExecutor(PARALLEL_REVIEWS) as pool:
        answers = list(pool.map(lambda q: _ask(client, q[0], q[1], q[2]), questions))
    for (target, subject, check), answer in zip(questions, answers, strict=True):
        if isinstance(answer, KubeError):
            live.errors.append(str(answer))
            continue
        here = [g for g in found if g.where == target.key and subject in g.subjects]
        roles = tuple(sorted({g.role for g in here}))
        via = CONTROLS[subject][0] if subject in CONTROLS else ", ".join(sorted({g.holder for g in here}))
        expected = any(rules_allow(rules.get(role) or [], check) for role in roles)
        live.cells.append(Cell(client.name, target.namespace, target.environment.name, subject, via, roles, check,
                               expected, answer.allowed, answer.reason))
    if len(live.errors) > 1:  # an unreachable cluster fails every review alike: say it once
        live.errors = [f"{live.errors[0]} (and {len(live.errors) - 1} more reviews failed on cluster {client.name})"]
    return live


def _ask(client: ClusterClient, target: Target, subject: Subject, check: Check) -> access_review.Answer | KubeError:
    try:
        return access_review.review(client, identity_of(subject), target.namespace, check.verb, check.group,
                                    check.resource)
    except KubeError as error:
        return error


def prove_access(landscape: Landscape, targets: tuple[Target, ...], clients: dict[str, ClusterClient] | None,
                 unusable: dict[str, str] | None = None) -> AccessReport:
    """The access git declares for ``targets``; with ``clients``, every subject checked on every target's cluster.
    ``unusable`` names clusters whose credentials could not be used, with the reason: each is one error."""
    found = access.grants(landscape, targets)
    environments = tuple(dict.fromkeys(t.environment.name for t in sorted(targets, key=_environment_order)))
    live = None
    if clients is not None:
        live = LiveAccess()
        live.errors += [f"cluster {name}: {reason}" for name, reason in sorted((unusable or {}).items())]
        subjects = subjects_of(found, [s for team in landscape.teams for s in access.team_subjects(landscape, team)])
        for name, client in sorted(clients.items()):
            part = check_cluster(client, tuple(t for t in targets if t.cluster.name == name), found, subjects)
            live.cells += part.cells
            live.missing_roles += part.missing_roles
            live.errors += part.errors
    return AccessReport(environments, access.matrix(found), access.members(landscape, found), tuple(found), live)


def _environment_order(target: Target) -> tuple[int, str]:
    """dev, staging, prod first, in the order changes are promoted; other environments by name."""
    promoted = ("dev", "staging", "prod")
    name = target.environment.name
    return (promoted.index(name) if name in promoted else len(promoted)), name
