"""Adapters on Redis (redis-py's asyncio client), for the cluster shape."""
