"""roost: a Twitter-like social backend speaking the Mastodon client API.

The package is layered so that dependencies flow one way:
``domain`` <- ``ports`` <- ``services`` <- ``gateway``/``workers`` <- ``runtime``.
Only ``runtime`` chooses adapters (embedded or real engines).
"""

from roost.settings import Settings

__version__ = "0.1.0"

__all__ = ["Settings", "__version__"]
