"""API schemas for categories and custom field definitions."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import Field

from helpline.api import InSchema

FieldType = Literal["text", "number", "choice", "date"]


class CategoryNodeOut(Schema):
    id: int
    name: str
    description: str
    is_active: bool
    parent_id: int | None
    children: list[CategoryNodeOut]


class CategoryOut(Schema):
    id: int
    name: str
    description: str
    is_active: bool
    parent_id: int | None


class CategoryIn(InSchema):
    name: str = Field(max_length=100)
    parent_id: int | None = None
    description: str = ""


class CategoryUpdateIn(InSchema):
    name: str | None = Field(None, max_length=100)
    parent_id: int | None = None
    description: str | None = None
    is_active: bool | None = None


class CustomFieldOut(Schema):
    id: int
    key: str
    label: str
    type: FieldType
    choices: list[str]
    required: bool
    max_length: int
    is_active: bool
    visible_to_customers: bool
    position: int


class CustomFieldIn(InSchema):
    key: str = Field(max_length=50, description="A slug; fixed once created.")
    label: str = Field(max_length=100)
    type: FieldType
    choices: list[str] = Field(default_factory=list, description="Choice fields only.")
    required: bool = False
    max_length: int = Field(1000, ge=1, le=100_000)
    visible_to_customers: bool = False
    position: int = Field(0, ge=0, le=32767)


class CustomFieldUpdateIn(InSchema):
    label: str | None = Field(None, max_length=100)
    choices: list[str] | None = None
    required: bool | None = None
    max_length: int | None = Field(None, ge=1, le=100_000)
    is_active: bool | None = None
    visible_to_customers: bool | None = None
    position: int | None = Field(None, ge=0, le=32767)


CategoryNodeOut.model_rebuild()
