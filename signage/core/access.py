"""Route access declarations, enforced for every request in one place.

Each view method says who may call it, right next to the route: `@public`,
`@signed_in`, or `@roles(...)`. Anything without a declaration still requires a
signed-in user, so forgetting one never opens a route.
"""

from __future__ import annotations

import uuid
from copy import deepcopy
from dataclasses import dataclass

from flask import current_app, g, request

from signage.core import reads
from signage.core.errors import Problem

ALL_ROLES = frozenset({"admin", "supervisor", "inspector", "owner"})
STAFF = ("admin", "supervisor", "inspector")
# Framework blueprints that are open by nature: the API document, its page and assets, probes.
PUBLIC_BLUEPRINTS = frozenset({"api-docs", "docs_assets", "health", "static"})


@dataclass(frozen=True)
class Principal:
    """Who signed in, as read-only views need it: no ORM record, no session behind it."""

    id: uuid.UUID
    username: str
    role: str
    zone_ids: frozenset[uuid.UUID]


@dataclass(frozen=True)
class Access:
    """Who may call a view: nobody signed in needed, or one of these roles."""

    public: bool = False
    roles: frozenset[str] = ALL_ROLES


def _annotate(func, access: Access):
    func._access = access
    func._apidoc = deepcopy(getattr(func, "_apidoc", {}))
    manual = func._apidoc.setdefault("manual_doc", {})
    responses = func._apidoc.setdefault("response", {}).setdefault("responses", {})
    if access.public:
        manual["security"] = []
    else:
        manual["security"] = [{"bearerAuth": []}]
        responses.setdefault(401, []).append("UNAUTHORIZED")
        if access.roles != ALL_ROLES:
            responses.setdefault(403, []).append("FORBIDDEN")
        who = ", ".join(sorted(access.roles))
        manual["description"] = (manual.get("description", "") + f"\n\nAllowed roles: {who}.").strip()
    return func


def public(func):
    """Mark a view as open to anyone, signed in or not."""
    return _annotate(func, Access(public=True))


def signed_in(func):
    """Mark a view as open to any signed-in user, owners included."""
    return _annotate(func, Access())


def roles(*names: str):
    """Mark a view as open only to signed-in users holding one of these roles."""
    unknown = set(names) - ALL_ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorator(func):
        return _annotate(func, Access(roles=frozenset(names)))

    return decorator


def read_only(func):
    """Mark a GET view that only reads, through `reads.connection()` and Core statements.

    Each statement is then its own transaction, which spares the request the BEGIN and ROLLBACK
    round trips, and the sign-in check gives a `Principal`, not an ORM record (signage/core/reads.py).
    Only for views that never write, use no ORM record and read nothing through a server-side
    cursor (a streamed export needs a transaction).
    """
    func._read_only = True
    return func


def _view(endpoint: str | None, method: str):
    """(view function, the method's function) behind an endpoint, or (None, None)."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    if view is None:
        return None, None
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return view, view
    name = "get" if method == "HEAD" else method.lower()
    return view, getattr(view_class, name, None) or view


def view_access(endpoint: str | None, method: str) -> Access:
    """The declared access for the view behind an endpoint and HTTP method."""
    view, target = _view(endpoint, method)
    if view is None or endpoint.split(".")[0] in PUBLIC_BLUEPRINTS:
        return Access(public=True)  # unknown route: let the router answer 404/405
    return getattr(target, "_access", None) or getattr(view, "_access", None) or Access()


def _declared(endpoint: str | None, method: str) -> tuple[bool, Access]:
    """(read-only view?, its access) for an endpoint and method, looked up once per app: the
    declarations are fixed when the views are registered."""
    known = current_app.extensions.setdefault("signage_access", {})
    found = known.get((endpoint, method))
    if found is None:
        read_only = getattr(_view(endpoint, method)[1], "_read_only", False)
        found = (read_only, view_access(endpoint, method))
        if endpoint is not None:  # no route: the method is the client's to make up, not kept
            known[endpoint, method] = found
    return found


def enforce_access() -> None:
    """before_request: authenticate unless public, then check the declared roles."""
    req = request._get_current_object()  # one context lookup, not one per use of the proxy
    method = req.method
    if method == "OPTIONS":
        return
    from signage.accounts.tokens import BATCH_SIGNED_IN, authenticate_request

    read_only, access = _declared(req.endpoint, method)
    if read_only and method in ("GET", "HEAD") and BATCH_SIGNED_IN not in req.environ:
        reads.start()  # a batch's operations share the batch's session
    if access.public:
        return
    user = authenticate_request()
    if user.role not in access.roles:
        raise Problem(403, f"This action is not open to the {user.role} role.", slug="forbidden")


def current_user():
    """The signed-in user for this request (set by enforce_access)."""
    return g.current_user
