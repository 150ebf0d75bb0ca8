"""Queue entry points of the mail app: process messages, poll IMAP, recover lost work."""

from __future__ import annotations

import logging
from datetime import timedelta

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from helpline.core.tasks import enqueue

logger = logging.getLogger(__name__)


@db_task()
def process_inbound_task(inbound_id: int) -> None:
    from helpline.mail.services import process_inbound

    process_inbound(inbound_id)


@db_task()
def process_pending_task() -> None:
    from helpline.mail.services import process_pending

    process_pending()


@db_task()
def poll_mailbox_task(mailbox_id: int) -> None:
    from helpline.mail.imap import poll_mailbox
    from helpline.mail.models import Mailbox

    mailbox = Mailbox.objects.filter(pk=mailbox_id, is_active=True).first()
    if mailbox is not None:
        poll_mailbox(mailbox)


@db_periodic_task(crontab(minute="*"))
def poll_imap_mailboxes() -> None:
    from helpline.mail.models import Mailbox

    for mailbox_id in Mailbox.objects.filter(is_active=True, way=Mailbox.Way.IMAP).values_list(
        "id", flat=True
    ):
        enqueue(poll_mailbox_task, mailbox_id)


@db_periodic_task(crontab(minute="*"))
def retry_stale_inbound() -> None:
    """Re-enqueue messages whose processing was lost (worker crash) or failed, once they
    were left alone for `HELPLINE_MAIL_RETRY_STALE_SECONDS` (a worker still processing a
    batch is not overtaken)."""
    from django.conf import settings

    from helpline.mail.services import stale_ids

    stale = timedelta(seconds=settings.HELPLINE_MAIL_RETRY_STALE_SECONDS)
    for inbound_id in stale_ids(older_than=stale):
        enqueue(process_inbound_task, inbound_id)
