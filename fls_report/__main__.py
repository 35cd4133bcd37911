"""``python -m fls_report``: the same as the ``fls-report`` command."""

import sys

from fls_report.cli import main

sys.exit(main())
