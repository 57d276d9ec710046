"""The store's errors: each message is fit to show a user, and names no data value."""
from __future__ import annotations


class StoreError(RuntimeError):
    """A store problem with a message fit to show a user (no data values in it).

    cause names the kind of problem for programs (the CLI's JSON, the import log);
    the subclasses in analytics.store.failures set their own.
    """

    cause: str = "store"
