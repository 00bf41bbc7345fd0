"""``python -m bulkhead``: the ``bulkhead`` command."""

import sys

from bulkhead.cli import main

sys.exit(main())
