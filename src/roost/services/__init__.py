"""Services: the business logic of each component, called in-process or (later) over HTTP.

Each service stores what it owns through the repository ports of its area
(``roost.ports``), never SQL, and reaches other services only through their
public classes.
"""
