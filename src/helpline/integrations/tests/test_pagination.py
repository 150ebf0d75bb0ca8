from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from helpline.api import InvalidCursor, PageParams, encode_cursor, paginate
from helpline.core.api_testing import api_call
from helpline.integrations import services
from helpline.integrations.models import ApiToken


@pytest.fixture
def tokens(desk):
    # Seven tokens whose created_at has ties (pairs share a timestamp)
    base = timezone.now()
    made = []
    for index in range(7):
        token, _ = services.token_create(
            actor=None, user=desk.agent1, name=f"t{index}", scopes=["tickets:read"]
        )
        ApiToken.objects.filter(pk=token.pk).update(created_at=base + timedelta(minutes=index // 2))
        made.append(token.pk)
    return made


def _walk(queryset, order_by, limit):
    seen, cursor, pages = [], None, 0
    while True:
        page = paginate(queryset, PageParams(cursor=cursor, limit=limit), order_by=order_by)
        seen += [item.pk for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("order_by", ["created_at", "-created_at", "id", "-id", "-name"])
@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
def test_keyset_walk_returns_every_row_once_in_order(tokens, order_by, limit):
    queryset = ApiToken.objects.all()
    field = order_by.lstrip("-")
    sign = "-" if order_by.startswith("-") else ""
    expected = list(queryset.order_by(f"{sign}{field}", f"{sign}id").values_list("pk", flat=True))
    seen, pages = _walk(queryset, order_by, limit)
    assert seen == expected
    assert pages == max(1, -(-len(expected) // limit))


def test_rows_added_during_a_walk_do_not_shift_pages(desk, tokens):
    first = paginate(ApiToken.objects.all(), PageParams(limit=3), order_by="-id")
    services.token_create(actor=None, user=desk.agent1, name="new", scopes=["tickets:read"])
    second = paginate(
        ApiToken.objects.all(), PageParams(cursor=first["next_cursor"], limit=3), order_by="-id"
    )
    assert [t.pk for t in second["items"]] == sorted(tokens, reverse=True)[3:6]


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(json.dumps([1, 2]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"o": "-id", "v": 1}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"o": "-id", "v": 1, "i": "x"}).encode()).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"o": "created_at", "v": {"dt": "yesterday"}, "i": 1}).encode()
        ).decode(),
        encode_cursor("created_at", datetime(2026, 1, 1, tzinfo=UTC), 1),  # another ordering
    ],
)
def test_bad_cursors_are_rejected(tokens, cursor):
    with pytest.raises(InvalidCursor):
        paginate(ApiToken.objects.all(), PageParams(cursor=cursor, limit=50), order_by="-id")


def test_api_list_pages_and_rejects_bad_cursor(client, desk, tokens):
    first = api_call(client, "get", "/api/v1/tokens", user=desk.agent1, query={"limit": 4})
    body = first.json()
    assert len(body["items"]) == 4
    rest = api_call(
        client, "get", "/api/v1/tokens", query={"limit": 4, "cursor": body["next_cursor"]}
    ).json()
    assert rest["next_cursor"] is None
    assert [i["id"] for i in body["items"] + rest["items"]] == sorted(tokens, reverse=True)
    bad = api_call(client, "get", "/api/v1/tokens", query={"cursor": "zzz"}, expect=400)
    assert bad.json()["error"]["code"] == "invalid_cursor"
