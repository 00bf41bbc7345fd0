"""Bulkhead: audit container hosts, engines, images and containers against a control catalogue."""

__version__ = "0.1.0"
