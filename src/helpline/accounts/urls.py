from django.urls import path

from helpline.accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("account/language/", views.set_language, name="language"),
    path("account/settings/", views.preferences, name="settings"),
]
