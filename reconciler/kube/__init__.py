"""The only package that talks to the Kubernetes API: connect, read live state, apply, delete."""
