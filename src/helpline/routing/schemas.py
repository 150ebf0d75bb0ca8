"""Input and output schemas of the routing API."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from helpline.api import InSchema
from helpline.tickets.schemas import ChannelName, PriorityName

StrategyName = Literal["manual", "round_robin", "least_loaded", "skills"]
SkillKind = Literal["category", "language", "product"]


class TeamStrategyOut(Schema):
    team_id: int
    team: str
    strategy: StrategyName
    label: str

    @staticmethod
    def resolve_team_id(obj: Any) -> int:
        return int(obj.team.pk)

    @staticmethod
    def resolve_team(obj: Any) -> str:
        return str(obj.team.name)


class TeamStrategyIn(InSchema):
    strategy: StrategyName


class TeamRef(Schema):
    id: int
    name: str


class RuleOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    channels: list[str]
    category_ids: list[int]
    organization_ids: list[int]
    plan_ids: list[int]
    priorities: list[str]
    languages: list[str]
    sender_domains: list[str]
    keywords: list[str] = Field(description="Any of them, at a word start, in subject or text.")
    team: TeamRef | None = Field(description="Action: the team the ticket goes to.")
    set_priority: PriorityName | None = Field(description="Action: raise the priority to this.")
    add_tags: list[str]

    @staticmethod
    def resolve_set_priority(obj: Any) -> str | None:
        return obj.set_priority or None


class RuleIn(InSchema):
    name: str = Field(max_length=100)
    position: int | None = Field(None, ge=0, description="Omitted: after the last rule.")
    is_active: bool = True
    channels: list[ChannelName] = []
    category_ids: list[int] = Field([], description="These categories and their subcategories.")
    organization_ids: list[int] = []
    plan_ids: list[int] = []
    priorities: list[PriorityName] = []
    languages: list[str] = Field([], description="The requester's language, e.g. zh, ru.")
    sender_domains: list[str] = []
    keywords: list[str] = []
    team_id: int | None = None
    set_priority: PriorityName | None = None
    add_tags: list[str] = []


class RuleUpdateIn(InSchema):
    name: str | None = Field(None, max_length=100)
    position: int | None = Field(None, ge=0)
    is_active: bool | None = None
    channels: list[ChannelName] | None = None
    category_ids: list[int] | None = None
    organization_ids: list[int] | None = None
    plan_ids: list[int] | None = None
    priorities: list[PriorityName] | None = None
    languages: list[str] | None = None
    sender_domains: list[str] | None = None
    keywords: list[str] | None = None
    team_id: int | None = None
    set_priority: PriorityName | None = None
    add_tags: list[str] | None = None


class ReorderIn(InSchema):
    rule_ids: list[int] = Field(description="Every rule id, once, in the new order.")


class SkillOut(Schema):
    id: int
    name: str
    kind: SkillKind
    category_id: int | None
    value: str


class SkillIn(InSchema):
    name: str = Field(max_length=100)
    kind: SkillKind
    category_id: int | None = Field(None, description="Kind category: the category.")
    value: str = Field("", max_length=50, description="Language code or product tag.")


class AgentOut(Schema):
    id: int
    name: str
    email: str
    available: bool
    max_open: int | None = Field(description="Most open tickets routing gives; null: no limit.")
    open_tickets: int
    skill_ids: list[int]
    teams: list[str]

    @staticmethod
    def resolve_id(obj: Any) -> int:
        return int(obj.user.pk)

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.user.name)

    @staticmethod
    def resolve_email(obj: Any) -> str:
        return str(obj.user.email)

    @staticmethod
    def resolve_skill_ids(obj: Any) -> list[int]:
        return [skill.pk for skill in obj.skills]


class AgentUpdateIn(InSchema):
    available: bool | None = None
    max_open: int | None = Field(None, ge=1, description="null: no limit.")
    skill_ids: list[int] | None = None


class AvailabilityOut(Schema):
    available: bool


class AvailabilityIn(InSchema):
    available: bool
