"""Benchmarks: each module prints numbers and asserts nothing. ``python -m hack.bench`` runs them all."""
