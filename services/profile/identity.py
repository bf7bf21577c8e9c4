"""Rules for recognising one customer under two profiles and folding them into one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.profile.consent import ConsentAnswer, current_answers

MATCHING_KEYS = ("email", "phone")
"""Search-key kinds that identify a person; names alone are too common to."""


class MergeRefused(ValueError):
    pass


@dataclass(frozen=True)
class ProfileFacts:
    """What a merge needs to know of one profile, as plain values."""

    customer_id: str
    fields: dict[str, Any]
    """Plain and personal fields (region, birthday, email, ...); None when not recorded."""
    tags: set[str]
    attributes: dict[str, Any]
    external_ids: set[tuple[str, str]]
    consents: list[ConsentAnswer]
    do_not_contact: bool
    erased: bool = False
    merged_into: str | None = None


def check_merge(survivor: ProfileFacts, merged: ProfileFacts) -> None:
    if survivor.customer_id == merged.customer_id:
        raise MergeRefused("a customer cannot be merged into itself")
    for facts in (survivor, merged):
        if facts.erased:
            raise MergeRefused(f"customer {facts.customer_id} has been erased")
        if facts.merged_into:
            raise MergeRefused(f"customer {facts.customer_id} was already merged into {facts.merged_into}")


def merged_profile(survivor: ProfileFacts, merged: ProfileFacts) -> dict[str, Any]:
    """The surviving profile's new fields. The survivor's values win; the merged profile fills its
    blanks; tags, ids and attributes are united; per channel and purpose the latest consent answer
    counts; do-not-contact from either side holds (the safe side of a wrong merge)."""
    check_merge(survivor, merged)
    fields = {name: value if value is not None else merged.fields.get(name) for name, value in survivor.fields.items()}
    answers = current_answers(sorted(survivor.consents + merged.consents, key=lambda a: a.occurred_at))
    return {
        **fields,
        "tags": sorted(survivor.tags | merged.tags),
        "attributes": {**merged.attributes, **survivor.attributes},
        "external_ids": [{"source": s, "id": i} for s, i in sorted(survivor.external_ids | merged.external_ids)],
        "consents": [{"channel": a.channel, "purpose": a.purpose, "granted": a.granted, "source": a.source,
                      "occurred_at": a.occurred_at} for a in answers.values()],
        "do_not_contact": survivor.do_not_contact or merged.do_not_contact,
    }
