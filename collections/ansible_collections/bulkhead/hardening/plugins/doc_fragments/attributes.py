# Copyright: Bulkhead contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # What check mode and diff mean for every module of this collection; each module states its
    # support and what its diff shows.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and predict exactly what would change, without changing anything.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode).
"""
