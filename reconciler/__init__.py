"""GitOps reconciler for machine-learning platforms."""
