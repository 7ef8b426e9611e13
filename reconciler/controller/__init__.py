"""Stage 8: the in-cluster controller: follow git, converge per cluster, serve status and metrics."""
