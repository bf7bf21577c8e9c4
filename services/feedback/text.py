"""Sentiment and themes of free-text comments, in Chinese and English.

English sentiment comes from VADER's lexicon, Chinese from SnowNLP's bundled naive Bayes sentiment model
applied to the words jieba cuts (jieba's dictionary cut is some twenty times faster than SnowNLP's own
character tagger, and the same words serve the themes); all ship their data, nothing is downloaded. Themes are found by matching words against a small
lexicon per theme. The libraries load lazily (jieba and SnowNLP take seconds), once per process.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[a-z']+")
_LOAD_LOCK = threading.Lock()

#: theme -> (English word stems, Chinese words)
THEMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "delivery": (("deliver", "shipping", "shipped", "courier", "parcel", "package", "arriv", "late"),
                 ("快递", "物流", "送货", "配送", "发货", "到货", "包裹", "送达")),
    "price": (("price", "expensive", "cheap", "cost", "overpriced", "discount", "value"),
              ("价格", "太贵", "便宜", "价钱", "优惠", "性价比", "贵")),
    "quality": (("quality", "broken", "defect", "faulty", "damaged", "durable", "flimsy"),
                ("质量", "品质", "做工", "破损", "坏了", "次品", "瑕疵")),
    "service": (("service", "support", "staff", "rude", "helpful", "friendly", "agent", "waiter"),
                ("客服", "服务", "态度", "店员", "服务员", "售后")),
    "refund": (("refund", "return", "money back", "exchange"),
               ("退款", "退货", "换货", "退钱")),
    "app": (("app", "website", "site", "checkout", "login", "crash", "online"),
            ("网站", "应用", "页面", "闪退", "登录", "下单", "小程序")),
    "waiting": (("wait", "queue", "slow", "delay"),
                ("排队", "等待", "太慢", "慢", "等了")),
    "product": (("product", "item", "size", "fit", "taste", "fresh"),
                ("产品", "商品", "尺码", "味道", "新鲜", "款式")),
}


@dataclass(frozen=True)
class TextInsight:
    language: str
    sentiment: str
    polarity: float
    themes: tuple[str, ...]


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def analyse(text: str) -> TextInsight:
    if is_chinese(text):
        words = _chinese_words(text)
        polarity = _chinese_polarity(words)
        return TextInsight("zh", _label(polarity, 0.3), polarity, _themes(set(words), text, chinese=True))
    polarity = _vader().polarity_scores(text)["compound"]
    lowered = text.lower()
    return TextInsight("en", _label(polarity, 0.05), polarity, _themes(set(_WORD.findall(lowered)), lowered,
                                                                      chinese=False))


def _label(polarity: float, threshold: float) -> str:
    return "positive" if polarity >= threshold else "negative" if polarity <= -threshold else "neutral"


def _themes(words: set[str], text: str, *, chinese: bool) -> tuple[str, ...]:
    found = []
    for theme, (english, chinese_words) in THEMES.items():
        if chinese:
            hit = any(word in words or (len(word) > 1 and word in text) for word in chinese_words)
        else:
            hit = any(_english_hit(stem, words, text) for stem in english)
        if hit:
            found.append(theme)
    return tuple(found)


def _english_hit(stem: str, words: set[str], text: str) -> bool:
    if " " in stem:
        return stem in text
    return any(word.startswith(stem) for word in words)


def _chinese_polarity(words: list[str]) -> float:
    """SnowNLP's probability of positive (0..1), mapped onto -1..1 like VADER's compound score."""
    model, stop_words = _snownlp()
    label, probability = model.classify(stop_words(words))
    positive = probability if label == "pos" else 1 - probability
    return round(2 * positive - 1, 4)


def _chinese_words(text: str) -> list[str]:
    return [word for word in _jieba().lcut(text) if word.strip()]


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def _jieba() -> Any:
    with _LOAD_LOCK:
        import jieba
        jieba.setLogLevel(logging.WARNING)
        for _, chinese_words in THEMES.values():
            for word in chinese_words:
                jieba.add_word(word)
        jieba.initialize()
        return jieba


@lru_cache(maxsize=1)
def _snownlp() -> tuple[Any, Any]:
    """SnowNLP's trained sentiment classifier and its stop-word filter."""
    with _LOAD_LOCK:
        from snownlp import normal, sentiment
        return sentiment.classifier.classifier, normal.filter_stop


def warm_up() -> None:
    """Load every model now (in a worker thread at start-up) rather than on the first comment."""
    analyse("great service")
    analyse("服务很好")
