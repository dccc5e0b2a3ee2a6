"""Sign-in, tokens, the current user, and account administration."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import g
from flask.views import MethodView

from signage.accounts import service, tokens
from signage.accounts.models import User
from signage.accounts.schemas import (
    RefreshRequestSchema,
    TokenRequestSchema,
    TokenSchema,
    UserCreateSchema,
    UserQueryArgsSchema,
    UserSchema,
    UserUpdateSchema,
)
from signage.core.access import public, roles, signed_in
from signage.core.api import Blueprint
from signage.core.db import db
from signage.core.errors import Problem
from signage.core.etag import check_if_match, etag, requires_if_match
from signage.core.pagination import keyset_page, page_schema

auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in and tokens")
users_blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Accounts (admin)")


@auth_blp.route("/auth/token", methods=["POST"])
@public
@auth_blp.arguments(TokenRequestSchema)
@auth_blp.response(200, TokenSchema)
@auth_blp.alt_response(401, response="UNAUTHORIZED")
@auth_blp.alt_response(429, response="TOO_MANY_REQUESTS")
def token(body):
    """Sign in with username and password."""
    pair = service.sign_in(body["username"], body["password"])
    db.session.commit()
    return pair


@auth_blp.route("/auth/refresh", methods=["POST"])
@public
@auth_blp.arguments(RefreshRequestSchema)
@auth_blp.response(200, TokenSchema)
@auth_blp.alt_response(401, response="UNAUTHORIZED")
def refresh(body):
    """Swap a refresh token for a new token pair (the old one stops working)."""
    pair = tokens.rotate(body["refresh_token"])
    db.session.commit()
    return pair


@auth_blp.route("/auth/logout", methods=["POST"])
@signed_in
@auth_blp.response(204)
def logout():
    """Sign out: the session's access and refresh tokens stop working."""
    tokens.end_session(g.session_id)
    db.session.commit()


@auth_blp.route("/me", methods=["GET"])
@signed_in
@auth_blp.response(200, UserSchema)
def me():
    """The signed-in account."""
    return g.current_user


def _get_user(user_id: uuid.UUID) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise Problem(404, "No such account.")
    return user


@users_blp.route("")
class Users(MethodView):
    @roles("admin")
    @users_blp.arguments(UserQueryArgsSchema, location="query")
    @users_blp.response(200, page_schema(UserSchema, "UserPage"))
    def get(self, args):
        """List accounts."""
        stmt = sa.select(User)
        if "role" in args:
            stmt = stmt.where(User.role == args["role"])
        if "active" in args:
            stmt = stmt.where(User.is_active == args["active"])
        if "q" in args:
            like = f"%{args['q'].lower()}%"
            stmt = stmt.where(
                sa.or_(sa.func.lower(User.username).like(like), sa.func.lower(User.display_name).like(like))
            )
        items, nxt = keyset_page(
            stmt,
            keys=[User.username],
            key_of=lambda u: [u.username],
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next": nxt}

    @roles("admin")
    @users_blp.arguments(UserCreateSchema)
    @users_blp.response(201, UserSchema)
    @users_blp.alt_response(409, response="CONFLICT")
    def post(self, body):
        """Create an account."""
        user = service.create_user(**body)
        db.session.commit()
        return user, 201, {"ETag": etag(user), "Location": f"/api/v1/users/{user.id}"}


@users_blp.route("/<uuid:user_id>")
class UserById(MethodView):
    @roles("admin")
    @users_blp.response(200, UserSchema)
    @users_blp.alt_response(404, response="NOT_FOUND")
    def get(self, user_id):
        """Get one account."""
        user = _get_user(user_id)
        return user, 200, {"ETag": etag(user)}

    @roles("admin")
    @requires_if_match
    @users_blp.arguments(UserUpdateSchema)
    @users_blp.response(200, UserSchema)
    @users_blp.alt_response(404, response="NOT_FOUND")
    def patch(self, body, user_id):
        """Change an account; `is_active: false` disables it and ends its sessions."""
        user = _get_user(user_id)
        check_if_match(user, UserSchema())
        if user.id == g.current_user.id and body.get("is_active") is False:
            raise Problem(409, "You cannot disable your own account.", slug="self-disable")
        service.update_user(user, body)
        db.session.commit()
        return user, 200, {"ETag": etag(user)}
