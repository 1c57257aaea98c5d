"""``python -m structgen``: the `structgen` command line (see `structgen.cli`)."""

import sys

from structgen.cli import main

sys.exit(main())
