"""Reads other apps make of stored mail."""

from __future__ import annotations

from typing import Any

from django.test import TestCase

from helpline.mail import selectors, services
from helpline.mail.models import Mailbox
from helpline.tickets import services as tickets
from helpline.tickets.models import Ticket

from .conftest import build_email


def test_ticket_mailbox_addresses_reads_the_first_emails_mailbox_in_one_query(
    desk: Any, mailbox: Any, django_assert_num_queries: Any
) -> None:
    # given tickets written to support@ and to Sales@ (an address stored in mixed case)
    sales = Mailbox.objects.create(address="Sales@Helpline.test", team=desk.l1)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.receive_many(
            mailbox=mailbox,
            raws=[
                build_email(subject=f"Support {i}", message_id=f"<s{i}@x.test>") for i in range(3)
            ],
            source="test",
        )
        services.receive_many(
            mailbox=sales,
            raws=[build_email(subject=f"Sales {i}", message_id=f"<b{i}@x.test>") for i in range(2)],
            source="test",
        )
        # and a reply to the first support ticket that the customer sent to sales@
        services.receive_raw(
            mailbox=sales,
            raw_bytes=build_email(subject="Re: Support 0", in_reply_to="<s0@x.test>"),
            source="test",
        )
        # and a portal ticket its requester later answered by e-mail, to sales@
        portal = tickets.ticket_create(actor=desk.dave, subject="Portal", body="Hi")
        services.receive_raw(
            mailbox=sales,
            raw_bytes=build_email(subject=f"Re: Portal [#{portal.pk}]"),
            source="test",
        )
    # and a ticket that never saw an e-mail
    silent = tickets.ticket_create(actor=desk.dave, subject="Silent", body="Hi")
    by_subject = dict(Ticket.objects.values_list("subject", "pk"))
    assert len(by_subject) == 7  # the reply threaded into its ticket

    # when the addresses of every ticket are read
    with django_assert_num_queries(1):
        addresses = selectors.ticket_mailbox_addresses(by_subject.values())

    # then each ticket that e-mail reached has its first e-mail's mailbox, in lowercase
    assert {subject: addresses.get(pk) for subject, pk in by_subject.items()} == {
        "Support 0": "support@helpline.test",
        "Support 1": "support@helpline.test",
        "Support 2": "support@helpline.test",
        "Sales 0": "sales@helpline.test",
        "Sales 1": "sales@helpline.test",
        "Portal": "sales@helpline.test",
        "Silent": None,
    }
    assert silent.pk not in addresses
    with django_assert_num_queries(0):
        assert selectors.ticket_mailbox_addresses([]) == {}
