from django.urls import path

from helpline.accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/verify/<str:uidb64>/<str:token>/", views.verify, name="verify"),
    path("accounts/magic-link/", views.magic_link_request, name="magic_link_request"),
    path("accounts/magic-link/<str:token>/", views.magic_link, name="magic_link"),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<str:uidb64>/<str:token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("account/language/", views.set_language, name="language"),
    path("account/settings/", views.preferences, name="settings"),
]
