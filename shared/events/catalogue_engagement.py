"""Events engagement publishes about each outreach message it sent, suppressed or failed to send."""
from __future__ import annotations

from typing import ClassVar

from shared.events.envelope import EventData
from shared.events.fields import CustomerId, ExternalId, Reason
from shared.events.vocabulary import Channel


class OutreachV1(EventData):
    """Fields common to every outreach outcome. Natural key: message_id.

    A message belongs to a campaign, a journey, or neither (a transactional message such as a
    survey invitation, which then carries `invitation_id`)."""

    message_id: ExternalId
    customer_id: CustomerId
    campaign_id: ExternalId | None = None
    journey_id: ExternalId | None = None
    invitation_id: ExternalId | None = None
    """The survey invitation this message delivers, so feedback can track it."""
    template_id: ExternalId | None = None
    channel: Channel


class OutreachSentV1(OutreachV1):
    """The message was handed to the channel provider."""

    event_type: ClassVar[str] = "outreach-sent"
    dataversion: ClassVar[int] = 1

    reason: Reason | None = None
    """Why it was sent, e.g. the journey step or trigger."""


class OutreachSuppressedV1(OutreachV1):
    """The message was not sent because policy forbade it."""

    event_type: ClassVar[str] = "outreach-suppressed"
    dataversion: ClassVar[int] = 1

    reason: Reason
    """E.g. `no_consent`, `frequency_cap`, `quiet_hours`, `no_address`."""


class OutreachFailedV1(OutreachV1):
    """The channel provider could not deliver the message."""

    event_type: ClassVar[str] = "outreach-failed"
    dataversion: ClassVar[int] = 1

    reason: Reason
    """The provider's error, e.g. `invalid_address`, `provider_timeout`."""
    retryable: bool = False
    """Whether engagement will try again later."""
