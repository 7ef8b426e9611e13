"""Resolving the repository-wide documents: the Platform (narrowed by the installation's guardrails), clusters and
teams."""

from __future__ import annotations

from reconciler.config import model, rules
from reconciler.config.located import Document, LocatedList, location_of
from reconciler.config.resolver_base import ResolverBase


class PlatformResolver(ResolverBase):
    def platform(self) -> model.Platform:
        platforms = list(self.named("Platform").values())
        for extra in platforms[1:]:
            self.error(extra.location, "kind", f"a repository has one Platform; {platforms[0].name!r} is defined at "
                       f"{platforms[0].location}")
        if not platforms:
            return model.Platform(name="default", allowed_cluster_roles=self.installed_roles())
        document = platforms[0]
        spec = document.body.get("spec", {})
        control = spec.get("controlPlane", {})
        risk = spec.get("risk", {})
        windows = tuple(
            model.ChangeWindow(
                environments=tuple(w["environments"]),
                days=tuple(w.get("days", ())),
                start=w.get("start"),
                end=w.get("end"),
                freezes=tuple((f["from"], f["to"], f.get("reason", "")) for f in w.get("freeze", ())),
            )
            for w in spec.get("changeWindows", ())
        )
        return model.Platform(
            name=document.name,
            allowed_cluster_roles=self.allowed_cluster_roles(document),
            control_plane_namespace=control.get("namespace"),
            control_plane_cluster=control.get("cluster"),
            control_plane_host=control.get("host"),
            mass_delete_percent=spec.get("massDeletePercent", model.DEFAULT_MASS_DELETE_PERCENT),
            risk_rules=dict(risk.get("rules", {})),
            risk_by_environment={k: dict(v) for k, v in risk.get("environments", {}).items()},
            change_windows=windows,
            location=document.location,
            quota_enforcement=spec.get("quotaEnforcement", "ResourceQuota"),
        )

    def installed_roles(self) -> tuple[str, ...]:
        """Without an allow-list of its own, a repository may use every role the guardrails allow."""
        installed = self.guardrails.cluster_roles
        usual = tuple(role for role in model.DEFAULT_ALLOWED_CLUSTER_ROLES if role in installed)
        return usual + tuple(sorted(installed - set(usual)))

    def allowed_cluster_roles(self, document: Document) -> tuple[str, ...]:
        """The Platform's allow-list, which may only narrow the installation's guardrails."""
        installed = self.guardrails.cluster_roles
        listed = document.body["spec"].get("allowedClusterRoles")
        if listed is None:
            return self.installed_roles()
        for index, role in enumerate(listed):
            if role not in installed:
                self.error(listed.where(index), f"spec.allowedClusterRoles[{index}]",
                           f"ClusterRole {role!r} is not allowed by the installation's guardrails "
                           f"({self.guardrails.source}: {', '.join(sorted(installed))}); the repository may only "
                           "narrow them. Remove it, or ask the installation's owner to allow it")
        return tuple(role for role in listed if role in installed)

    def clusters(self) -> dict[str, model.Cluster]:
        clusters = {}
        for name, document in sorted(self.named("Cluster").items()):
            spec = document.body["spec"]
            connection = spec["connection"]
            secret = connection.get("kubeconfigSecret")
            pools = {
                pool: model.NodePool(
                    name=pool,
                    node_selector=dict(settings.get("nodeSelector", {})),
                    tolerations=tuple(dict(t) for t in settings.get("tolerations", ())),
                    gpu=bool(settings.get("gpu", False)),
                )
                for pool, settings in sorted(spec.get("nodePools", {}).items())
            }
            clusters[name] = model.Cluster(
                name=name,
                connection=model.ClusterConnection(
                    context=connection.get("context"),
                    in_cluster=bool(connection.get("inCluster", False)),
                    kubeconfig_secret=model.KubeconfigSecret(
                        secret["namespace"], secret["name"], secret.get("key", "kubeconfig"), secret.get("context")
                    ) if secret else None,
                    context_location=location_of(document.body, ("spec", "connection", "context")),
                ),
                node_pools=pools,
                location=document.location,
            )
        return clusters

    def teams(self) -> dict[str, model.Team]:
        teams = {}
        for name, document in sorted(self.named("Team").items()):
            spec = document.body["spec"]
            self.errors.extend(rules.team_subjects(document))
            accounts = spec.get("serviceAccounts", LocatedList(document.location))
            teams[name] = model.Team(
                name=name,
                groups=tuple(spec.get("groups", ())),
                users=tuple(spec.get("users", ())),
                service_accounts=tuple(
                    model.ServiceAccountRef(sa["namespace"], sa["name"], accounts.where(index))
                    for index, sa in enumerate(accounts)
                ),
                location=document.location,
            )
        return teams
