"""Sentiment and themes of comments in English and Chinese, with the real lexicons and models."""
from __future__ import annotations

import pytest

from services.feedback.text import analyse


@pytest.mark.parametrize(("comment", "sentiment", "themes"), [
    ("The delivery was late and the support agent was rude. Terrible.", "negative", {"delivery", "service"}),
    ("Great quality and a fair price, I love it!", "positive", {"quality", "price"}),
    ("快递太慢了，客服态度很差", "negative", {"delivery", "service"}),
    ("质量很好，性价比高，非常满意", "positive", {"quality", "price"}),
    ("质量很差，退货还要等很久", "negative", {"quality", "refund"}),
    ("东西很好，下次还会再来买", "positive", set()),
])
def test_comments_get_a_sentiment_and_their_themes(comment: str, sentiment: str, themes: set[str]) -> None:
    insight = analyse(comment)
    assert insight.sentiment == sentiment
    assert themes <= set(insight.themes)


def test_the_language_decides_the_model() -> None:
    assert analyse("送货很快").language == "zh"
    assert analyse("fast shipping").language == "en"


def test_a_comment_about_nothing_in_the_lexicon_has_no_theme() -> None:
    assert analyse("Thanks").themes == ()
