# Copyright: Bulkhead contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""How every Bulkhead module ends: its domain errors turned into fail_json in one place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def finish(module, apply, domain_errors, details_key=None, subject=None):
    """Run ``apply(module)`` and exit with its result, or fail with one clear message.

    ``domain_errors`` (an exception class or a tuple) carry the message as their first argument
    and, with ``details_key``, a list of details (conflicting keys, problems) as their second.
    A file-system error names the file: the error's own filename, else ``subject``, else the
    module's ``path`` parameter.
    """
    try:
        result = apply(module)
    except domain_errors as error:
        extra = {details_key: error.args[1]} if details_key and len(error.args) > 1 else {}
        module.fail_json(msg=str(error.args[0]) if error.args else str(error), **extra)
    except (IOError, OSError) as error:
        where = getattr(error, "filename", None) or subject or module.params.get("path")
        module.fail_json(msg="cannot update %s: %s" % (where, error))
    module.exit_json(**result)
