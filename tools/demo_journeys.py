"""The journeys the demo ships enabled: VIP welcome, retention offer, first-purchase thank-you and survey,
win-back, reactivation, service recovery (detractors and complaints), birthdays and holidays."""
from __future__ import annotations

from typing import Any

import httpx

_NO_LONGER_NEEDED = [{"event": "purchase-recorded"}]

DEFAULT_JOURNEYS: dict[str, dict[str, Any]] = {
    "vip-welcome": {
        "name": "VIP welcome",
        "trigger": {"event": "tier-changed", "to": "high-value"},
        "steps": [
            {"id": "welcome-gift", "type": "grant_points", "points": 500},
            {"id": "morning", "type": "wait", "until_local_time": "10:00"},
            {"id": "welcome", "type": "send", "priority": "promotion", "subject": "Welcome to our VIP circle",
             "body": "Dear {{ customer.first_name or 'customer' }}, you are now one of our VIPs: "
                     "{{ points_granted }} points are on your account."},
        ],
    },
    "retention-offer": {
        "name": "Retention offer after a tier downgrade",
        "trigger": {"event": "tier-changed", "direction": "down"},
        "exit_on": _NO_LONGER_NEEDED,
        "steps": [
            {"id": "offer", "type": "grant_coupon", "discount": "10%", "prefix": "STAY", "valid_for": "P30D"},
            {"id": "morning", "type": "wait", "until_local_time": "10:00"},
            {"id": "mail", "type": "send", "priority": "win_back", "subject": "A little something for you",
             "body": "10% off your next order with {{ coupon_code }}, valid for 30 days."},
        ],
    },
    "first-purchase": {
        "name": "First purchase: thank-you, then a satisfaction survey",
        "trigger": {"event": "purchase-recorded", "first_purchase": True},
        "steps": [
            {"id": "thank-you", "type": "send", "priority": "service", "subject": "Thank you for your order",
             "body": "Thank you for your first order ({{ event.order_id }}), {{ customer.first_name or 'and welcome' }}!"},
            {"id": "a-week-later", "type": "wait", "duration": "P7D", "until_local_time": "10:00"},
            {"id": "survey", "type": "send", "priority": "service", "subject": "How did we do?",
             "body": "How happy are you with order {{ event.order_id }}? Answer with a score from 1 to 5."},
        ],
    },
    "win-back": {
        "name": "Win-back for customers at risk",
        "trigger": {"event": "lifecycle-stage-changed", "to": "at-risk"},
        "exit_on": _NO_LONGER_NEEDED,
        "steps": [
            {"id": "morning", "type": "wait", "until_local_time": "10:00"},
            {"id": "offer", "type": "grant_coupon", "discount": "15%", "prefix": "BACK", "valid_for": "P30D"},
            {"id": "mail", "type": "send", "priority": "win_back", "subject": "We miss you",
             "body": "It has been a while. 15% off with {{ coupon_code }} until the end of the month."},
            {"id": "two-weeks", "type": "wait", "duration": "P14D", "until_local_time": "10:00"},
            {"id": "read-it", "type": "branch", "if": {"field": "last_message.delivery", "in": ["opened", "clicked"]},
             "then": "end"},
            {"id": "reminder", "type": "send", "priority": "win_back", "subject": "Your code is still waiting",
             "body": "{{ coupon_code }} still gives you 15% off."},
        ],
    },
    "reactivation": {
        "name": "Reactivation of churned customers",
        "trigger": {"event": "lifecycle-stage-changed", "to": "churned"},
        "exit_on": _NO_LONGER_NEEDED,
        "steps": [
            {"id": "offer", "type": "grant_coupon", "discount": "25%", "prefix": "RE", "valid_for": "P60D"},
            {"id": "morning", "type": "wait", "until_local_time": "10:00"},
            {"id": "mail", "type": "send", "priority": "win_back", "subject": "Come back for 25% off",
             "body": "We would love to see you again: {{ coupon_code }} gives you 25% off."},
        ],
    },
    "service-recovery-detractor": {
        "name": "Service recovery after a detractor score",
        "trigger": {"event": "feedback-received", "kind": ["nps"], "score_at_most": 6},
        "steps": [
            {"id": "apology", "type": "send", "priority": "service", "subject": "We are sorry",
             "body": "Thank you for your honest feedback. Someone from our team will get in touch with you."},
            {"id": "goodwill", "type": "grant_points", "points": 200},
        ],
    },
    "service-recovery-complaint": {
        "name": "Service recovery after a complaint",
        "trigger": {"event": "complaint-opened"},
        "steps": [
            {"id": "acknowledge", "type": "send", "priority": "service", "subject": "We are on it",
             "body": "We have opened case {{ event.case_id }} about {{ event.category }} and will keep you posted."},
            {"id": "serious", "type": "branch", "if": {"field": "event.severity", "in": ["high", "critical"]},
             "then": "goodwill", "else": "end"},
            {"id": "goodwill", "type": "grant_points", "points": 300},
        ],
    },
    "birthday": {
        "name": "Birthday greeting",
        "trigger": {"event": "birthday"},
        "steps": [
            {"id": "gift", "type": "grant_points", "points": 100},
            {"id": "morning", "type": "wait", "until_local_time": "09:00"},
            {"id": "greeting", "type": "send", "priority": "promotion", "subject": "Happy birthday!",
             "body": "Happy birthday, {{ customer.first_name or 'dear customer' }}! 100 points are yours."},
        ],
    },
    "holidays": {
        "name": "Holiday greetings",
        "trigger": {"event": "holiday", "calendar": [{"date": "01-01", "name": "New Year"},
                                                     {"date": "12-24", "name": "Christmas Eve"}]},
        "steps": [
            {"id": "morning", "type": "wait", "until_local_time": "10:00"},
            {"id": "greeting", "type": "send", "priority": "promotion", "subject": "Season's greetings",
             "body": "Happy {{ event.name }} from all of us!"},
        ],
    },
}


async def create_journeys(client: httpx.AsyncClient, engagement: str) -> list[str]:
    """PUT each default journey (idempotent); returns their ids."""
    for journey_id, definition in DEFAULT_JOURNEYS.items():
        response = await client.put(f"{engagement}/journeys/{journey_id}", json=definition)
        if response.status_code != 200:
            raise RuntimeError(f"PUT /journeys/{journey_id} answered {response.status_code}: {response.text[:300]}")
    return list(DEFAULT_JOURNEYS)
