"""Routes for survey analytics: NPS, CSAT, CES, themes, sentiment, response rates, case handling."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from services.feedback import analytics, analytics_cases
from services.feedback.analytics import Filters, Granularity, GroupBy
from shared.events.fields import Timestamp
from shared.http.auth import require
from shared.service import UowDep

router = APIRouter(tags=["analytics"], prefix="/analytics", dependencies=[Depends(require("feedback:read"))])


def report_filters(survey_id: Annotated[str | None, Query(max_length=64)] = None,
                   tier: Annotated[str | None, Query(max_length=16)] = None,
                   channel: Annotated[str | None, Query(max_length=64)] = None,
                   since: Timestamp | None = None, until: Timestamp | None = None) -> Filters:
    return Filters(survey_id=survey_id, tier=tier, channel=channel, since=since, until=until)


FiltersDep = Annotated[Filters, Depends(report_filters)]
GranularityQuery = Annotated[Granularity | None, Query(description="Trend by day, week (Monday) or month")]
GroupQuery = Annotated[GroupBy | None, Query(description="Break down by survey, tier or channel")]


@router.get("/nps")
async def nps(uow: UowDep, filters: FiltersDep, granularity: GranularityQuery = None,
              group_by: GroupQuery = None) -> dict[str, Any]:
    """NPS (promoters − detractors, in points) with a 95% interval, overall and per period or group."""
    async with uow:
        overall = await analytics.nps_report(uow, filters, None, None)
        series = await analytics.nps_report(uow, filters, granularity, group_by) if granularity or group_by else []
    return {"overall": overall[0] if overall else _empty_nps(), "series": series}


def _empty_nps() -> dict[str, Any]:
    return {"nps": None, "ci_low": None, "ci_high": None, "promoters": 0, "passives": 0, "detractors": 0,
            "responses": 0}


@router.get("/csat")
async def csat(uow: UowDep, filters: FiltersDep, granularity: GranularityQuery = None,
               group_by: GroupQuery = None) -> dict[str, Any]:
    """CSAT: the share of answers of 4 or 5, overall and per period or group."""
    async with uow:
        overall = await analytics.csat_report(uow, filters, None, None)
        series = await analytics.csat_report(uow, filters, granularity, group_by) if granularity or group_by else []
    return {"overall": overall[0] if overall else {"csat": None, "satisfied": 0, "responses": 0}, "series": series}


@router.get("/ces")
async def ces(uow: UowDep, filters: FiltersDep, granularity: GranularityQuery = None,
              group_by: GroupQuery = None) -> dict[str, Any]:
    """CES: the mean effort score (1–7), overall and per period or group."""
    async with uow:
        overall = await analytics.ces_report(uow, filters, None, None)
        series = await analytics.ces_report(uow, filters, granularity, group_by) if granularity or group_by else []
    return {"overall": overall[0] if overall else {"ces": None, "responses": 0}, "series": series}


@router.get("/themes")
async def themes(uow: UowDep, filters: FiltersDep, granularity: GranularityQuery = None) -> dict[str, Any]:
    """How often each theme comes up in comments, per period."""
    async with uow:
        return {"items": await analytics.theme_counts(uow, filters, granularity)}


@router.get("/sentiment")
async def sentiment(uow: UowDep, filters: FiltersDep, granularity: GranularityQuery = None) -> dict[str, Any]:
    """Comments by sentiment, per period."""
    async with uow:
        return {"items": await analytics.sentiment_counts(uow, filters, granularity)}


@router.get("/response-rate")
async def response_rate(uow: UowDep, survey_id: Annotated[str | None, Query(max_length=64)] = None,
                        group_by: Literal["survey", "channel", "trigger"] = "survey") -> dict[str, Any]:
    """Invitations sent and answered, per survey, delivery channel or trigger."""
    async with uow:
        return {"items": await analytics.response_rates(uow, survey_id, group_by)}


@router.get("/cases")
async def cases(uow: UowDep) -> dict[str, Any]:
    """Case handling: resolution time by tier and category, repeat complaints, detractors followed up
    within SLA, and NPS before vs after resolution."""
    async with uow:
        return {"resolution": await analytics_cases.resolution_times(uow),
                "repeat_complaints": await analytics_cases.repeat_complaint_rate(uow),
                "detractor_follow_up": await analytics_cases.detractors_followed_up(uow),
                "nps_around_resolution": await analytics_cases.nps_around_resolution(uow)}
