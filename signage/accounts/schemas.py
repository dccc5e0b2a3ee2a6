"""Account and token schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from signage.core.fields import AwareDateTime
from signage.core.pagination import PageArgsSchema

USERNAME = validate.Regexp(r"^[A-Za-z0-9_.-]{2,64}$", error="use 2-64 letters, digits, '.', '_' or '-'")
PHONE = validate.Regexp(r"^1\d{10}$", error="must be an 11-digit mainland mobile number")
STAFF_ROLES = ("admin", "supervisor", "inspector")


class UserSchema(ma.Schema):
    """An account as staff see it."""

    id = ma.fields.UUID(dump_only=True)
    username = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    is_active = ma.fields.Boolean()
    zones = ma.fields.List(ma.fields.String(), attribute="zone_codes")
    created_at = AwareDateTime()
    updated_at = AwareDateTime()
    version = ma.fields.Integer()


class UserCreateSchema(ma.Schema):
    """A new staff or owner account."""

    username = ma.fields.String(required=True, validate=USERNAME)
    display_name = ma.fields.String(load_default="", validate=validate.Length(max=100))
    role = ma.fields.String(required=True, validate=validate.OneOf((*STAFF_ROLES, "owner")))
    password = ma.fields.String(
        load_default=None,
        load_only=True,
        validate=validate.Length(min=10, max=256),
        metadata={"description": "Required for staff; at least 10 characters"},
    )
    phone = ma.fields.String(load_default=None, allow_none=True, validate=PHONE)
    zones = ma.fields.List(ma.fields.String(), load_default=list, metadata={"description": "Zone codes"})

    @ma.validates_schema
    def staff_need_password(self, data, **kwargs):
        if data["role"] in STAFF_ROLES and not data.get("password"):
            raise ma.ValidationError("staff accounts need a password", "password")


class UserUpdateSchema(ma.Schema):
    """Changes to an account (send only what changes)."""

    display_name = ma.fields.String(validate=validate.Length(max=100))
    role = ma.fields.String(validate=validate.OneOf((*STAFF_ROLES, "owner")))
    password = ma.fields.String(load_only=True, validate=validate.Length(min=10, max=256))
    phone = ma.fields.String(allow_none=True, validate=PHONE)
    is_active = ma.fields.Boolean(metadata={"description": "false disables the account at once"})
    zones = ma.fields.List(ma.fields.String())


class UserQueryArgsSchema(PageArgsSchema):
    """Filters for the account list."""

    role = ma.fields.String(validate=validate.OneOf((*STAFF_ROLES, "owner")))
    active = ma.fields.Boolean()
    q = ma.fields.String(validate=validate.Length(min=1, max=64))


class TokenRequestSchema(ma.Schema):
    """Staff sign-in."""

    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class RefreshRequestSchema(ma.Schema):
    """A refresh token to swap for a new pair."""

    refresh_token = ma.fields.String(required=True, validate=validate.Length(min=10, max=200))


class TokenSchema(ma.Schema):
    """An access token and the refresh token that renews it."""

    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(required=True, metadata={"description": "Seconds"})
    refresh_token = ma.fields.String(required=True)
    refresh_expires_at = AwareDateTime(required=True)
    user = ma.fields.Nested(UserSchema, required=True)
