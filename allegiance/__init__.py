"""Allegiance: news reports about militant organizations -> evidence-backed actor graph."""
__version__ = "0.1.0"
