"""The runtime: the component registry, the composition root and the server."""

from roost.runtime.container import Container, build_registry, start, stop
from roost.runtime.modules import Lifecycle, Module, Registry

__all__ = ["Container", "Lifecycle", "Module", "Registry", "build_registry", "start", "stop"]
