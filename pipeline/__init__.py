"""newswatch's pipeline: config, fetch, parse, dedupe, store, score, and the command line."""

__version__ = "0.1.0"
