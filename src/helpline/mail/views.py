"""Inline images of inbound mail, and the original message for agents."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBase
from django.http.response import FileResponse

from helpline.core.errors import NotFound
from helpline.core.middleware import AuthenticatedRequest
from helpline.mail import selectors


@login_required
def inline_image(request: AuthenticatedRequest, inbound_id: int) -> HttpResponseBase:
    try:
        item = selectors.inline_attachment(
            actor=request.user, inbound_id=inbound_id, content_id=request.GET.get("cid", "")
        )
    except NotFound:
        raise Http404 from None
    response = FileResponse(item.file.open("rb"), content_type=item.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def raw_message(request: AuthenticatedRequest, inbound_id: int) -> HttpResponse:
    try:
        row = selectors.inbound_for_agent(actor=request.user, inbound_id=inbound_id)
    except NotFound:
        raise Http404 from None
    response = HttpResponse(bytes(row.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="inbound-{row.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
