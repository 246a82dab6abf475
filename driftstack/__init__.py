"""Driftstack: a self-hostable HTTP API that runs remote browser sessions."""

__version__ = "0.1.0"
