# PyYAML is imported here, before any in-process pytester run: pytester drops the modules first
# imported inside a run, and PyYAML's libyaml loader cannot be imported a second time in one
# process ("could not determine a constructor for the tag None").
import yaml  # noqa: F401

pytest_plugins = ["pytester"]
