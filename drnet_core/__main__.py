"""``python -m drnet_core`` — see :mod:`drnet_core.cli`."""

import sys

from drnet_core.cli import main

sys.exit(main())
