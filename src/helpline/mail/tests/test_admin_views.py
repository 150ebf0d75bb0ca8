"""The desk's mailbox screens: access, create and edit, status, replay, CSRF, query count."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpline.mail import secrets, services
from helpline.mail.models import InboundEmail, Mailbox
from helpline.mail.tests.conftest import build_email

LIST = "/desk/admin/mailboxes/"


def _form(**extra: Any) -> dict[str, Any]:
    return {
        "address": "billing@helpline.test",
        "name": "Billing",
        "way": "intake",
        "imap_port": "993",
        "imap_security": "ssl",
        "imap_auth": "password",
        "imap_folder": "INBOX",
        "processed_action": "mark_seen",
        "is_active": "on",
        "follow_up_on_closed": "on",
        **extra,
    }


def _detail(mailbox: Mailbox) -> str:
    return reverse("mail:admin_mailbox", args=[mailbox.pk])


def test_permission_matrix(client: Any, desk: Any, mailbox: Any) -> None:
    for url in (LIST, _detail(mailbox)):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"], url
        for user, status in (
            (desk.alice, 404),
            (desk.agent1, 403),
            (desk.agent2, 403),
            (desk.supervisor, 200),
            (desk.admin, 200),
        ):
            client.force_login(user)
            assert client.get(url).status_code == status, (url, user.email)
        client.logout()
    for user, status in ((desk.alice, 404), (desk.agent1, 403), (desk.supervisor, 403)):
        client.force_login(user)
        assert client.post(LIST, _form()).status_code == status
        assert client.post(_detail(mailbox), {"form": "http_secret"}).status_code == status
        assert client.post(_detail(mailbox), {"form": "replay"}).status_code == status
    assert Mailbox.objects.count() == 1
    mailbox.refresh_from_db()
    assert mailbox.http_secret_digest == ""
    client.force_login(desk.admin)
    assert client.get(reverse("mail:admin_mailbox", args=[999999])).status_code == 404


def test_supervisors_read_without_forms_to_change(client: Any, desk: Any, mailbox: Any) -> None:
    client.force_login(desk.supervisor)
    page = client.get(_detail(mailbox)).content.decode()
    assert "only administrators can change them" in page
    assert 'value="http_secret"' not in page
    assert "Add a mailbox" not in client.get(LIST).content.decode()


def test_admin_adds_and_edits_a_mailbox(
    client: Any, desk: Any, mailbox: Any, capture_events: Any
) -> None:
    client.force_login(desk.admin)
    page = client.get(reverse("tickets:desk_admin")).content.decode()
    assert f'href="{LIST}"' in page
    response = client.post(
        LIST,
        _form(
            way="imap",
            imap_host="imap.example.net",
            imap_username="billing",
            imap_secret="pw-secret-123",
            team=str(desk.finance_team.pk),
        ),
    )
    created = Mailbox.objects.get(address="billing@helpline.test")
    assert response.status_code == 302 and response["Location"] == _detail(created)
    assert created.team == desk.finance_team and created.way == "imap"
    assert secrets.decrypt(created.imap_secret_encrypted) == "pw-secret-123"
    page = client.get(_detail(created)).content.decode()
    assert "pw-secret-123" not in page and created.imap_secret_encrypted not in page
    assert "A password or token is stored." in page

    form = _form(way="imap", imap_host="imap2.example.net", imap_username="billing")
    form["form"] = "settings"
    del form["is_active"]
    assert client.post(_detail(created), form).status_code == 302
    created.refresh_from_db()
    assert (created.imap_host, created.is_active, created.team) == (
        "imap2.example.net",
        False,
        None,
    )
    assert secrets.decrypt(created.imap_secret_encrypted) == "pw-secret-123"  # kept
    form["clear_imap_secret"] = "on"
    assert client.post(_detail(created), form).status_code == 302
    created.refresh_from_db()
    assert created.imap_secret_encrypted == ""
    assert capture_events.types == ["mailbox.created", "mailbox.updated", "mailbox.updated"]


def test_invalid_input_is_shown_on_the_form(client: Any, desk: Any, mailbox: Any) -> None:
    client.force_login(desk.admin)
    response = client.post(LIST, _form(address="support@helpline.test"))
    assert response.status_code == 200
    assert "Another mailbox has this address." in response.content.decode()
    response = client.post(LIST, _form(way="imap"))
    assert "An IMAP mailbox needs a host and a user name." in response.content.decode()
    form = _form(address="support@helpline.test", processed_action="move", form="settings")
    response = client.post(_detail(mailbox), form)
    assert response.status_code == 200
    assert "Moving processed mail needs a folder." in response.content.decode()
    assert Mailbox.objects.count() == 1
    mailbox.refresh_from_db()
    assert mailbox.processed_action == "mark_seen"


def test_status_counts_rejections_and_replay(client: Any, desk: Any, mailbox: Any) -> None:
    processed, _ = services.store_raw(mailbox=mailbox, raw=build_email(), source="test")
    services.process_inbound(processed.pk)
    rejected, _ = services.store_raw(
        mailbox=mailbox,
        raw=build_email(subject="Out of office", headers={"Auto-Submitted": "auto-replied"}),
        source="test",
    )
    services.process_inbound(rejected.pk)
    failed, _ = services.store_raw(
        mailbox=mailbox, raw=build_email(subject="Crashed once"), source="test"
    )
    InboundEmail.objects.filter(pk=failed.pk).update(
        state=InboundEmail.State.FAILED, detail="OperationalError: database is locked"
    )
    mailbox.last_error = "LOGIN failed: [AUTHENTICATIONFAILED]"
    mailbox.save(update_fields=["last_error"])
    client.force_login(desk.admin)
    page = client.get(_detail(mailbox)).content.decode()
    counts = page[page.index('id="counts"') : page.index("</table>", page.index('id="counts"'))]
    assert [cell.split("<")[0] for cell in counts.split("<td>")[1:]] == ["0", "1", "1", ""]
    assert "<strong>1</strong>" in counts
    rejections = page[page.index('id="rejections"') :]
    assert "auto_reply" in rejections and "Out of office" in rejections
    assert "database is locked" in rejections and "Crashed once" in rejections
    assert "LOGIN failed: [AUTHENTICATIONFAILED]" in page
    assert "Replay 1 failed message" in page

    response = client.post(_detail(mailbox), {"form": "replay"}, follow=True)
    assert "Replayed 1 message; 1 processed." in response.content.decode()
    failed.refresh_from_db()
    assert failed.state == InboundEmail.State.PROCESSED and failed.ticket_message is not None
    assert "Replay 1 failed message" not in response.content.decode()


def test_http_secret_is_shown_once(client: Any, desk: Any, mailbox: Any) -> None:
    client.force_login(desk.admin)
    response = client.post(_detail(mailbox), {"form": "http_secret"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    page = response.content.decode()
    secret = page.split('<code id="http-secret">')[1].split("<")[0]
    mailbox.refresh_from_db()
    assert services.mailbox_secret_matches(mailbox, secret)
    again = client.get(_detail(mailbox)).content.decode()
    assert secret not in again and "A secret is set." in again


def test_posts_need_the_csrf_token(desk: Any, mailbox: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.admin)
    assert client.post(LIST, _form()).status_code == 403
    assert client.post(_detail(mailbox), {"form": "http_secret"}).status_code == 403
    assert client.post(_detail(mailbox), {"form": "replay"}).status_code == 403
    assert not Mailbox.objects.filter(address="billing@helpline.test").exists()
    mailbox.refresh_from_db()
    assert mailbox.http_secret_digest == ""
    page = client.get(LIST).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(LIST, {**_form(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Mailbox.objects.filter(address="billing@helpline.test").exists()


@pytest.mark.parametrize("url", [LIST, "detail"])
def test_query_count_does_not_grow_with_mailboxes(
    client: Any, desk: Any, mailbox: Any, url: str
) -> None:
    client.force_login(desk.admin)

    def count() -> int:
        target = _detail(mailbox) if url == "detail" else LIST
        with CaptureQueriesContext(connection) as queries:
            assert client.get(target).status_code == 200
        return len(queries)

    few = count()
    for number in range(6):
        other = Mailbox.objects.create(address=f"box{number}@helpline.test", team=desk.l1)
        services.store_raw(mailbox=other, raw=build_email(subject=f"s{number}"), source="t")
        services.store_raw(mailbox=mailbox, raw=build_email(subject=f"m{number}"), source="t")
    InboundEmail.objects.update(state=InboundEmail.State.REJECTED, rejection_reason="auto_reply")
    assert count() == few
