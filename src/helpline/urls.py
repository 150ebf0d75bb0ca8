from typing import Any

from django.conf import settings
from django.urls import include, path

urlpatterns: list[Any] = [
    path("api/v1/", include("helpline.api_urls")),
    path("", include("helpline.accounts.urls")),
    path("", include("helpline.integrations.urls")),
    path("", include("helpline.tickets.urls")),
    path("", include("helpline.mail.urls")),
    path("", include("helpline.routing.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
