"""Services: the business logic of each component, called in-process or (later) over HTTP.

Each service owns its tables (declared as migrations in its ``schema`` module)
and reaches other services only through their public classes.
"""
