"""Repositories written once in SQL that both SQL families run: the embedded SQLite shards
and the PostgreSQL shards.

Each repository here takes a ``ShardedDatabase`` (``ports/database.py``) and speaks only
statements both engines accept (``?`` placeholders, ``ON CONFLICT``, ``RETURNING``, aliased
subqueries). Where the engines truly differ (full-text search, a string function), the
family's own module provides that piece: ``adapters/embedded/`` or ``adapters/postgres/``.
Each family's table definitions live with it (``adapters/<family>/migrations/``).
"""
