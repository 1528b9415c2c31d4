"""Area scoping for the services: the sync layer's rule, in one place for both."""

from sync.scope import covers, in_scope

__all__ = ["covers", "in_scope"]
