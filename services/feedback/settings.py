from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import ServiceSettings

#: A placeholder that must never sign real invitations: production refuses it.
DEV_TOKEN_KEY = "cvp-dev-survey-token-key"


class FeedbackSettings(ServiceSettings):
    service_name: str = "feedback"
    port: int = 8004
    #: Hours to answer a complaint, by severity.
    sla_hours: dict[str, int] = Field(default_factory=lambda: {"critical": 4, "high": 24, "medium": 72, "low": 168})
    #: Share of the severity's hours a tier gets: high-value customers are answered faster.
    sla_tier_factors: dict[str, float] = Field(
        default_factory=lambda: {"high-value": 0.5, "potential": 0.75, "ordinary": 1.0, "low-value": 1.0})
    #: HMAC key signing survey links; production refuses a missing, short or development key.
    survey_token_key: str = ""
    #: Where the public response page lives; a link is `<base>/s/<token>`.
    public_survey_base_url: str = "http://127.0.0.1:8004"
    invitation_ttl_days: int = Field(default=14, ge=1, le=365)
    #: Nobody is invited again within this many days of an invitation.
    survey_cooldown_days: int = Field(default=30, ge=0)
    #: Survey sent N days after a customer's first purchase; empty disables the trigger.
    first_purchase_survey_id: str = ""
    first_purchase_delay_hours: float = Field(default=72, ge=0)
    #: Short satisfaction check after a case is resolved; empty disables it.
    case_resolved_survey_id: str = ""
    case_resolved_delay_hours: float = Field(default=24, ge=0)
    #: The follow-up visit (回访) after a case is resolved is due this many hours later.
    follow_up_visit_hours: float = Field(default=72, ge=0)
    #: How often the invitation scheduler and the SLA sweep run.
    scheduler_interval_seconds: float = Field(default=60, gt=0)
    max_comment_chars: int = Field(default=2000, ge=1, le=5000)
    #: Answers through survey links share transactions (group commit): at most this many per transaction,
    answer_batch_max: int = Field(default=200, ge=1)
    #: and this many such transactions under way at once per replica (always one on SQLite).
    answer_batches_in_flight: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _survey_token_key_is_safe(self) -> FeedbackSettings:
        if self.environment == "production":
            if not self.survey_token_key or self.survey_token_key == DEV_TOKEN_KEY:
                raise ValueError("SURVEY_TOKEN_KEY must be set to a secret of your own in production")
            if len(self.survey_token_key) < 32:
                raise ValueError("SURVEY_TOKEN_KEY must be at least 32 characters in production")
        elif not self.survey_token_key:
            object.__setattr__(self, "survey_token_key", DEV_TOKEN_KEY)
        return self
