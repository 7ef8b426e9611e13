"""Real Kubernetes control planes (etcd, kube-apiserver, kube-controller-manager) for tests and the quick start.

Standard library only, so it runs before the project is installed: ``build`` finds or builds the binaries,
``controlplane`` starts and stops them, ``clients`` (needs the ``kubernetes`` package) gives API clients as a user.
"""
