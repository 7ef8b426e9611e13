"""The PromQL reader the observability test relies on: it must find every metric and label an expression uses."""

from __future__ import annotations

from tests.promql import reads


def test_metrics_inside_functions_and_aggregations_are_found_but_not_the_functions() -> None:
    found = reads('histogram_quantile(0.95, sum by (le, cluster) (rate(reconciler_x_bucket[$__rate_interval])))')
    assert found.metrics == {"reconciler_x_bucket": set()}
    assert found.grouping == {"le", "cluster"}


def test_label_matchers_belong_to_their_metric() -> None:
    found = reads('sum by (environment) (a_used{resource="gpu", cluster=~"g.*"}) / b_hard{resource!="x"} > 0.9')
    assert found.metrics == {"a_used": {"resource", "cluster"}, "b_hard": {"resource"}}


def test_keywords_numbers_and_vector_are_not_metrics() -> None:
    found = reads("(max(reconciler_leader) or vector(0)) == 0 and time() - last_seen > 3600")
    assert found.metrics == {"reconciler_leader": set(), "last_seen": set()}


def test_a_misspelt_name_is_read_as_written() -> None:
    assert set(reads("increase(reconciler_reconcile_total[5m])").metrics) == {"reconciler_reconcile_total"}
