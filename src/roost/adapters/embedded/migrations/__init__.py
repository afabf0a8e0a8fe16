"""The embedded family's table definitions (SQLite DDL), one module per area.

Component names and versions are those the services declared before the tables
moved here: a version already recorded in a data directory is never applied again.
"""
