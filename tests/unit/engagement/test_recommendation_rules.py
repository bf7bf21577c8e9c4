"""Recommendations rank items bought together first, then category favourites, never owned items."""
from services.engagement.recommendation_rules import basket_pairs, rank, shares


def test_an_order_gives_every_ordered_pair_of_distinct_items() -> None:
    assert sorted(basket_pairs(["tea", "cup", "tea"])) == [("cup", "tea"), ("tea", "cup")]
    assert len(basket_pairs([f"s{n}" for n in range(100)], max_items=30)) == 30 * 29


def test_bought_together_outranks_category_favourites_and_owned_items_are_left_out() -> None:
    ranked = rank(co_purchases={"cup": 3, "pot": 1, "tea": 5}, category_share=shares({"tea": 3, "books": 1}),
                  popular={"green-tea": ("tea", 40), "novel": ("books", 80), "cup": ("kitchen", 90)},
                  owned={"tea"}, limit=10)
    assert [(c.sku, c.reason) for c in ranked] == [
        ("cup", "bought_together"), ("pot", "bought_together"),
        ("green-tea", "category:tea"), ("novel", "category:books")]
    assert ranked[2].score == 0.75 * 40 / 90


def test_a_customer_with_no_history_gets_nothing() -> None:
    assert rank({}, {}, {"x": ("tea", 1)}, set(), 5) == []
