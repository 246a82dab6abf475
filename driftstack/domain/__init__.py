"""The domain: aggregates, their events, and the rules that hold without any I/O."""
