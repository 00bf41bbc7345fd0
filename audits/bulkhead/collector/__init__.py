"""The collector: runs ON THE TARGET and prints every fact the audit needs as one JSON document.

The audit sends this whole package to the target and runs it with the target's python3 in a
single round trip, whatever the number of checks and containers (``bulkhead.state`` bundles it;
``python3 -m bulkhead.collector`` runs it here). Each fact is reported as {"value": ...} or
{"error": "why"}, so that the audit can tell "the engine says no" from "we could not find out".

Rules for every module of this package, since they run on the target's Python:

- standard library only, and Python 3.7+ (no walrus, no ``f"{x=}"``, no 3.8+ APIs);
- relative imports only between the package's modules: on the target the package is served
  under another name (``bulkhead_collector``) from memory, and nothing is written there;
- container and image environments are reduced to variable NAMES here: values never leave.

Parts: ``facts`` (fact(), FactError, shared helpers), ``proc`` (one snapshot of /proc per
collection), ``docker`` and ``podman`` (engine clients and their configuration), ``engines``
(detection and one snapshot of every engine), ``host`` (host facts), ``collect`` (the entry point).
"""
