"""``python -m reconciler.cli``: the same entry point as the ``reconciler`` command."""

import sys

from reconciler.cli.main import main

sys.exit(main())
