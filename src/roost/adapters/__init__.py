"""Adapters: implementations of the ports. ``embedded`` needs no external service."""
