"""The hazard lifecycle: the one table of allowed transitions, and applying an action.

    reported ──notify──▶ notified ──submit_fix──▶ fix_submitted ──verify pass──▶ rectified
        │                   ▲                           │                            │
        │                   └───────verify fail─────────┘                            │
        │                   ▲                                                        │
        │                   └────────────────────────reopen──────────────────────────┘
        └──fix_on_spot (found and verified in one visit)──────────────────────────▶ rectified

Overdue is not a state: any open state past its deadline is shown as overdue at query time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from signage.accounts.models import User
from signage.catalog import HazardAction, HazardState
from signage.core import audit, clock
from signage.core.db import db
from signage.core.errors import Problem, field_error
from signage.core.recorded import not_in_future
from signage.core.scope import require_own_shop, require_zone
from signage.hazards import photos as hazard_photos
from signage.hazards.models import Hazard, HazardTransition
from signage.hazards.rules import default_deadline
from signage.patrols.models import Patrol

A, S = HazardAction, HazardState
FIELD = frozenset({"admin", "supervisor", "inspector"})


@dataclass(frozen=True)
class Step:
    """One allowed transition: an action (with an outcome, for verify) from a state to a state."""

    action: HazardAction
    source: HazardState
    target: HazardState
    roles: frozenset[str]
    outcome: str | None = None


TRANSITIONS: tuple[Step, ...] = (
    Step(A.NOTIFY, S.REPORTED, S.NOTIFIED, FIELD),
    Step(A.SUBMIT_FIX, S.NOTIFIED, S.FIX_SUBMITTED, FIELD | {"owner"}),
    Step(A.VERIFY, S.FIX_SUBMITTED, S.RECTIFIED, FIELD, outcome="pass"),
    Step(A.VERIFY, S.FIX_SUBMITTED, S.NOTIFIED, FIELD, outcome="fail"),
    Step(A.FIX_ON_SPOT, S.REPORTED, S.RECTIFIED, FIELD),
    # Reopening a verified case overrides an inspector's verification: supervisors decide.
    Step(A.REOPEN, S.RECTIFIED, S.NOTIFIED, frozenset({"admin", "supervisor"})),
)


def allowed_actions(state: str) -> list[str]:
    """The actions the table allows from a state, in catalog order."""
    found = {t.action for t in TRANSITIONS if t.source == state}
    return [a.value for a in HazardAction if a in found]


def roles_for(action: str) -> frozenset[str]:
    """Who may take an action at all."""
    return frozenset().union(*(t.roles for t in TRANSITIONS if t.action == action))


def _step(hazard: Hazard, action: str, outcome: str | None) -> Step:
    for step in TRANSITIONS:
        if step.action == action and step.source == hazard.state and step.outcome == outcome:
            return step
    allowed = allowed_actions(hazard.state)
    raise Problem(
        409,
        f"A hazard in state {hazard.state!r} cannot take the action {action!r}; "
        f"allowed: {', '.join(allowed) or 'none'}.",
        slug="action-not-allowed",
        state=hazard.state,
        allowed_actions=allowed,
    )


def check_scope(actor: User, hazard: Hazard) -> None:
    """Owners reach only their own shops' hazards (else 404); staff only their zones (else 403)."""
    if actor.role == "owner":
        require_own_shop(actor, hazard.shop_id, "hazard")
    else:
        require_zone(actor, hazard.zone_id)


def _json(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def _patrol(hazard: Hazard, actor: User, patrol_id: uuid.UUID | None, at: datetime) -> Patrol | None:
    if patrol_id is None:
        return None
    patrol = db.session.get(Patrol, patrol_id)
    if patrol is None or patrol.zone_id != hazard.zone_id:
        raise field_error("patrol_id", "no such patrol in the hazard's zone")
    if actor.role == "inspector" and actor.id not in patrol.member_ids:
        raise field_error("patrol_id", "you are not on this patrol")
    if at < patrol.started_at or (patrol.ended_at is not None and at > patrol.ended_at):
        raise field_error("patrol_id", "the action's time is outside the patrol's time span")
    return patrol


def _future_deadline(deadline_at: datetime | None, at: datetime) -> datetime | None:
    if deadline_at is not None and deadline_at <= at:
        raise field_error("deadline_at", "must be after the time of the action")
    return deadline_at


def apply_action(
    *,
    hazard: Hazard,
    action: str,
    actor: User,
    at: datetime | None = None,
    received_at: datetime | None = None,
    id: uuid.UUID | None = None,
    recorded_at: datetime | None = None,
    **details,
) -> HazardTransition:
    """Apply a lifecycle action to a hazard as actor, or refuse it.

    at is when it happened (default: recorded_at, else now); received_at is the server's
    receipt time the evidence checks compare photos with (default now; a loader replaying
    history passes the historical time). details are the action's own fields (see schemas).
    Refusals: 404 another shop's hazard (owners), 403 role or zone, 409 not allowed from the
    current state, 422 invalid details (including daytime verification of a lighting hazard).
    """
    check_scope(actor, hazard)
    if actor.role not in roles_for(action):
        raise Problem(403, f"The {actor.role} role cannot {action} a hazard.", slug="forbidden")
    outcome = details.get("result") if action == A.VERIFY else None
    if action == A.VERIFY and outcome not in ("pass", "fail"):
        raise field_error("result", "must be pass or fail")
    step = _step(hazard, action, outcome)
    if actor.role not in step.roles:
        raise Problem(403, f"The {actor.role} role cannot {action} a hazard.", slug="forbidden")
    not_in_future(recorded_at)
    at = not_in_future(at, "at") or recorded_at or clock.now()
    if at < hazard.found_at:
        raise field_error("recorded_at", "is before the hazard was found")
    received_at = received_at or clock.now()
    extra = HANDLERS[step.action](hazard, step, actor, at, received_at, details)
    from_state = hazard.state
    hazard.state = step.target.value
    audit.tag(hazard, action)
    last_step = db.session.scalar(
        sa.select(sa.func.max(HazardTransition.step_no)).where(HazardTransition.hazard_id == hazard.id)
    )
    transition = HazardTransition(
        id=id or uuid.uuid4(),
        hazard_id=hazard.id,
        step_no=(last_step or 0) + 1,
        action=action,
        from_state=from_state,
        to_state=hazard.state,
        actor_id=actor.id,
        actor_role=actor.role,
        at=at,
        patrol_id=extra.pop("patrol_id", None),
        details={k: _json(v) for k, v in {**details, **extra}.items() if v is not None},
        recorded_at=recorded_at,
    )
    db.session.add(transition)
    db.session.flush()
    return transition


def _notify(hazard, step, actor, at, received_at, details) -> dict:
    if not details.get("contact_method"):
        raise field_error("contact_method", "say how the merchant was told")
    deadline = _future_deadline(details.get("deadline_at"), at)
    hazard.notified_at = at
    hazard.contact_method = details["contact_method"]
    hazard.immediate_measure = details.get("immediate_measure") or "none"
    if deadline is not None:
        hazard.deadline_at = deadline
    return {"deadline_at": hazard.deadline_at, "immediate_measure": hazard.immediate_measure}


def _submit_fix(hazard, step, actor, at, received_at, details) -> dict:
    photos = hazard_photos.load(details.get("photo_ids") or [], actor=actor, required=True)
    hazard_photos.attach(hazard, photos, stage="fix", actor=actor, at=at, received_at=received_at)
    hazard.fix_submitted_at = at
    return {}


def _verify(hazard, step, actor, at, received_at, details) -> dict:
    patrol = _patrol(hazard, actor, details.get("patrol_id"), at)
    photos = hazard_photos.load(details.get("photo_ids") or [], actor=actor)
    extra: dict = {"patrol_id": patrol.id if patrol else None}
    if step.outcome == "pass":
        extra["night_evidence"] = hazard_photos.night_evidence(
            hazard, patrol=patrol, at=at, new_photos=photos
        )
    elif not (details.get("reason") or "").strip():
        raise field_error("reason", "say why the fix failed verification")
    hazard_photos.attach(hazard, photos, stage="verification", actor=actor, at=at, received_at=received_at)
    if step.outcome == "pass":
        hazard.rectified_at = at
        hazard.verified_by_id = actor.id
    else:
        hazard.rework_count += 1
        deadline = _future_deadline(details.get("deadline_at"), at)
        if deadline is not None:
            hazard.deadline_at = deadline
        extra["deadline_at"] = hazard.deadline_at
    return extra


def _default_patrol(hazard: Hazard, actor: User, at: datetime) -> Patrol | None:
    """The patrol the hazard was found on, when the actor is on it and it is still under way at `at`."""
    if hazard.patrol_id is None:
        return None
    try:
        return _patrol(hazard, actor, hazard.patrol_id, at)
    except Problem:
        return None


def _fix_on_spot(hazard, step, actor, at, received_at, details) -> dict:
    if details.get("patrol_id"):
        patrol = _patrol(hazard, actor, details["patrol_id"], at)
    else:
        patrol = _default_patrol(hazard, actor, at)
    photos = hazard_photos.load(details.get("photo_ids") or [], actor=actor, required=True)
    evidence = hazard_photos.night_evidence(hazard, patrol=patrol, at=at, new_photos=photos)
    hazard_photos.attach(hazard, photos, stage="verification", actor=actor, at=at, received_at=received_at)
    hazard.rectified_at = at
    hazard.verified_by_id = actor.id
    hazard.fixed_on_spot = True
    return {"patrol_id": patrol.id if patrol else None, "night_evidence": evidence}


def _reopen(hazard, step, actor, at, received_at, details) -> dict:
    if not (details.get("reason") or "").strip():
        raise field_error("reason", "say why the case is reopened")
    deadline = _future_deadline(details.get("deadline_at"), at)
    hazard.deadline_at = deadline or default_deadline(hazard.category, hazard.severity, at)
    hazard.rectified_at = None
    hazard.verified_by_id = None
    hazard.fixed_on_spot = False
    hazard.reopen_count += 1
    return {"deadline_at": hazard.deadline_at}


HANDLERS = {
    A.NOTIFY: _notify,
    A.SUBMIT_FIX: _submit_fix,
    A.VERIFY: _verify,
    A.FIX_ON_SPOT: _fix_on_spot,
    A.REOPEN: _reopen,
}
