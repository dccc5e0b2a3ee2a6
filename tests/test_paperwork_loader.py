"""The paperwork services called the way the demo loader calls them: app context, no request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from signage.accounts import service as accounts
from signage.core import audit
from signage.core.db import db
from signage.core.errors import Problem
from signage.paperwork import service, signatures
from signage.paperwork.models import Commitment, Notice
from tests import factories
from tests.paperwork_helpers import png


def test_loader_issues_notices_and_records_commitments_for_several_inspectors(app):
    with app.app_context():
        audit.set_actor(None, "demo")
        try:
            gl_shop = factories.shop("阿芳小吃店")
            ds_shop = factories.shop("东山超市", zone_code="DS", road_name="东山路")
            insp_gl = accounts.create_user(
                username="insp_gl", role="inspector", password="x" * 12, zones=["GL"]
            )
            insp_ds = accounts.create_user(
                username="insp_ds", role="inspector", password="x" * 12, zones=["DS"]
            )
            spring = datetime(2024, 4, 8, 2, 0, tzinfo=UTC)
            first = service.issue_notice(
                shop=gl_shop, issued_by=insp_gl, issued_at=spring, delivery_method="in_person"
            )
            # A second actor in the same app context: scope is checked for that actor, not the first.
            second = service.issue_notice(shop=ds_shop, issued_by=insp_ds, issued_at=spring)
            photo = signatures.store_signature(data=png(), uploaded_by=insp_ds)
            commitment = service.record_commitment(
                shop=ds_shop,
                witnessed_by=insp_ds,
                signer_name="陈立群",
                signer_role="负责人",
                signature_photo_id=photo.id,
                signed_at=spring,
            )
            db.session.commit()
            with pytest.raises(Problem) as refused:
                service.issue_notice(shop=gl_shop, issued_by=insp_ds)
            assert refused.value.status == 403
            db.session.rollback()

            assert (first.number, second.number) == (
                "瓜沥执法告〔2024〕第0001号",
                "瓜沥执法告〔2024〕第0002号",
            )
            assert "2024年4月8日" in first.body and first.delivery_method == "in_person"
            assert (commitment.valid_from.isoformat(), commitment.valid_until.isoformat()) == (
                "2024-04-08",
                "2025-04-08",
            )
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 2
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Commitment)) == 1
        finally:
            audit.set_actor(None, None)
