"""Stage 6: execute a plan against a cluster (dry run, writes in order, prune, health)."""
