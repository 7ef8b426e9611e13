"""Stage 5: compare desired, live and inventory into a plan; the pull-request diff of two revisions."""
