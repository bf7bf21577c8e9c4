"""Recommendation ranking, pure: items bought together with the customer's, then favourites of the
categories they buy most; never what they already own."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Mapping


@dataclass(frozen=True)
class Candidate:
    sku: str
    score: float
    reason: str  # "bought_together" or "category:<name>"


def basket_pairs(skus: list[str], max_items: int = 30) -> list[tuple[str, str]]:
    """Ordered pairs of distinct items of one order (both directions), over its first `max_items` items."""
    distinct = list(dict.fromkeys(skus))[:max_items]
    return list(permutations(distinct, 2))


def rank(co_purchases: Mapping[str, int], category_share: Mapping[str, float],
         popular: Mapping[str, tuple[str, int]], owned: set[str], limit: int) -> list[Candidate]:
    """Co-purchase counts score first (1 point per shared order); popular items of a category add
    its share of the customer's purchases (0..1) times their normalised popularity."""
    scores: dict[str, Candidate] = {}
    for sku, count in co_purchases.items():
        if sku not in owned:
            scores[sku] = Candidate(sku, float(count), "bought_together")
    top_orders = max((orders for _, orders in popular.values()), default=0) or 1
    for sku, (category, orders) in popular.items():
        if sku in owned or sku in scores:
            continue
        share = category_share.get(category, 0.0)
        if share > 0:
            scores[sku] = Candidate(sku, share * orders / top_orders, f"category:{category}")
    return sorted(scores.values(), key=lambda c: (-c.score, c.sku))[:limit]


def shares(quantities: Mapping[str, int]) -> dict[str, float]:
    total = sum(quantities.values())
    return {category: quantity / total for category, quantity in quantities.items()} if total else {}
