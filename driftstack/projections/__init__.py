"""Projections: read models built from the event store, each with its own tracking position."""
