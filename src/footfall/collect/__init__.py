"""Collect: the HTTP endpoints that take hits in, their payload parsing and their limits."""
