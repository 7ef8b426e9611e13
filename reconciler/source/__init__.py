"""Stage 1: read the environments repository from git (a revision's files, a followed remote, signatures)."""
