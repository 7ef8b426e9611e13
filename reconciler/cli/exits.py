"""The command line's exit codes: CI reads them, so each means one thing on every command."""

EXIT_OK = 0
EXIT_ERROR = 1  # invalid repository, error or refusal
EXIT_PENDING = 2  # plan: changes are pending; status: a target is not converged
# sysexits.h EX_USAGE: a mistyped flag must never read as "changes pending" (2) or "blocked" (3) in CI.
EXIT_USAGE = 64
