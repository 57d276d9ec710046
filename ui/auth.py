"""Access gate for every page. STUB: the access issue (#6) replaces this with login,
roles and site scope. Until then every visitor is a local director."""
from __future__ import annotations

from analytics.filters import Scope


def require_access() -> Scope:
    """Stop the page with a login prompt unless the visitor may see data; return their Scope."""
    return Scope.everything()
