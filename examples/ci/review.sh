#!/bin/sh
# Change control for an environments repository: validate the pull request's head, then write its plan (what
# changes in which environment, and what is risky) as Markdown for a pull-request comment.
#
#   usage: review.sh [REPO]           REPO: the environments repository folder (default: .)
#   environment:
#     BASE        the target branch as git knows it (default: origin/main); fetch it before running
#     PLAN        where to write the Markdown (default: plan.md)
#     RECONCILER  the reconciler command (default: reconciler)
#     DIFF_ARGS   more arguments for `reconciler diff`, e.g. "--kubeconfig /path/to/kubeconfig"
#
# Exit status: 0 nothing blocks the change, 1 the head is invalid or a command failed, 3 a risk finding blocks the
# change. PLAN is written in every case, so the comment can be posted before the status fails the check.
set -u

REPO=${1:-.}
BASE=${BASE:-origin/main}
PLAN=${PLAN:-plan.md}
RECONCILER=${RECONCILER:-reconciler}
DIFF_ARGS=${DIFF_ARGS:-}
LOG=$(mktemp) || exit 1
trap 'rm -f "$LOG"' EXIT

if ! "$RECONCILER" validate "$REPO" >"$LOG" 2>&1; then
    {
        echo "### Reconciler diff"
        echo
        echo "**The environments repository does not validate.** Fix these errors (path:line: field: message):"
        echo
        echo '```'
        cat "$LOG"
        echo '```'
    } >"$PLAN"
    cat "$LOG" >&2
    exit 1
fi
cat "$LOG"

# shellcheck disable=SC2086  # DIFF_ARGS is a list of arguments
"$RECONCILER" diff "$REPO" --base "$BASE" -o markdown $DIFF_ARGS >"$PLAN" 2>"$LOG"
status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
    {
        echo "### Reconciler diff"
        echo
        echo "**The plan could not be computed** (exit $status):"
        echo
        echo '```'
        cat "$LOG"
        echo '```'
    } >"$PLAN"
    cat "$LOG" >&2
    exit 1
fi
cat "$PLAN"
exit "$status"
