"""Merge rules, refund rules and the sealing of personal data."""
from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.profile.consent import ConsentAnswer
from services.profile.domain import OrderBalance, RefundRefused, check_refund, refund_key
from services.profile.identity import MergeRefused, ProfileFacts, merged_profile
from services.profile.privacy import PersonalDataVault, decode_key
from services.profile.settings import ProfileSettings
from shared.events.catalogue import PurchaseRefundedV1


def facts(customer_id: str, **changes: object) -> ProfileFacts:
    values: dict[str, object] = dict(customer_id=customer_id, fields={"email": None, "region": None}, tags=set(),
                                     attributes={}, external_ids=set(), consents=[], do_not_contact=False)
    return ProfileFacts(**{**values, **changes})  # type: ignore[arg-type]


def test_the_survivor_keeps_its_values_and_the_merged_profile_fills_blanks() -> None:
    survivor = facts("a", fields={"email": "a@x.org", "region": None}, tags={"vip"}, attributes={"size": 38})
    merged = facts("b", fields={"email": "b@x.org", "region": "north"}, tags={"news"},
                   attributes={"size": 40, "colour": "red"}, external_ids={("pos", "1")})
    result = merged_profile(survivor, merged)
    assert result["email"] == "a@x.org" and result["region"] == "north"
    assert result["tags"] == ["news", "vip"] and result["attributes"] == {"size": 38, "colour": "red"}
    assert result["external_ids"] == [{"source": "pos", "id": "1"}]


def test_the_latest_consent_answer_wins_and_do_not_contact_from_either_side_holds() -> None:
    old = ConsentAnswer("email", "marketing", True, "web", datetime(2026, 1, 1, tzinfo=UTC))
    new = ConsentAnswer("email", "marketing", False, "store", datetime(2026, 2, 1, tzinfo=UTC))
    result = merged_profile(facts("a", consents=[new]), facts("b", consents=[old], do_not_contact=True))
    assert [c["granted"] for c in result["consents"]] == [False]
    assert result["do_not_contact"] is True


@pytest.mark.parametrize("survivor, merged, reason", [
    (facts("a"), facts("a"), "itself"),
    (facts("a"), facts("b", erased=True), "erased"),
    (facts("a", merged_into="c"), facts("b"), "already merged"),
])
def test_impossible_merges_are_refused(survivor: ProfileFacts, merged: ProfileFacts, reason: str) -> None:
    with pytest.raises(MergeRefused, match=reason):
        merged_profile(survivor, merged)


def refund(amount: str, customer_id: str = "c-1", currency: str = "EUR", refund_id: str | None = None) -> PurchaseRefundedV1:
    return PurchaseRefundedV1(order_id="o-1", customer_id=customer_id, occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
                              amount=amount, currency=currency, refund_id=refund_id)  # type: ignore[arg-type]


def test_a_refund_cannot_exceed_what_is_left_or_contradict_the_order() -> None:
    order = OrderBalance("c-1", "EUR", Decimal("50"), refunded=Decimal("30"))
    check_refund(0, refund("20"), order)
    for bad, field in ((refund("20.01"), "amount"), (refund("1", customer_id="c-2"), "customer_id"),
                       (refund("1", currency="USD"), "currency")):
        with pytest.raises(RefundRefused) as refused:
            check_refund(3, bad, order)
        assert refused.value.field == field and refused.value.position == 3


def test_a_refund_is_keyed_by_its_id_or_else_by_time_and_amount() -> None:
    assert refund_key(refund("5", refund_id="r-9")) == "id:r-9"
    assert refund_key(refund("5.00")) == refund_key(refund("5")) != refund_key(refund("5.01"))


def test_sealed_personal_data_opens_only_for_its_customer_and_digests_are_keyed() -> None:
    vault = PersonalDataVault(os.urandom(32), os.urandom(32))
    blob = vault.seal("c-1", {"email": "ada@example.com"})
    assert b"ada" not in blob and vault.open("c-1", blob) == {"email": "ada@example.com"}
    with pytest.raises(ValueError):
        vault.open("c-2", blob)
    other = PersonalDataVault(os.urandom(32), os.urandom(32))
    assert vault.digest("email", "a@x.org") == vault.digest("email", "a@x.org") != other.digest("email", "a@x.org")


def test_production_refuses_missing_or_development_keys_and_development_gets_a_fixed_one() -> None:
    production = dict(environment="production", api_keys={"k": ["*"]}, database_url="postgresql+asyncpg://db/p")
    with pytest.raises(ValueError, match="PII_ENCRYPTION_KEY"):
        ProfileSettings(**production)
    with pytest.raises(ValueError, match="PII_HASH_KEY"):
        ProfileSettings(**production, pii_encryption_key="A" * 43)
    with pytest.raises(ValueError, match="32 bytes"):
        ProfileSettings(pii_encryption_key="c2hvcnQ")
    assert ProfileSettings(**production, pii_encryption_key="A" * 43, pii_hash_key="B" * 43)
    assert ProfileSettings().pii_encryption_key == ProfileSettings().pii_encryption_key
    assert len(decode_key(ProfileSettings().pii_hash_key, name="k")) == 32
