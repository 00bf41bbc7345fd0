"""``python3 -m bulkhead.collector``: the facts of this machine, as the audit would collect them."""

from .collect import main

main()
