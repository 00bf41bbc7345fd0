"""The admission gate: a Docker authorization plugin that judges requests with the audit's checks."""
