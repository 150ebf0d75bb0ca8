"""Routes of the agent desk (`/desk/`), included into the `tickets` URL namespace."""

from django.urls import path

from helpline.tickets import views_admin, views_desk

urlpatterns = [
    path("desk/", views_desk.desk_queue, name="desk"),
    path("desk/bulk/", views_desk.desk_bulk, name="desk_bulk"),
    path("desk/queue-tools/", views_desk.desk_queue_tools, name="desk_queue_tools"),
    path("desk/search/", views_desk.desk_search, name="desk_search"),
    path("desk/views/", views_desk.desk_view_save, name="desk_view_save"),
    path("desk/views/<int:view_id>/delete/", views_desk.desk_view_delete, name="desk_view_delete"),
    path("desk/tickets/<int:ticket_id>/", views_desk.desk_ticket, name="desk_ticket"),
    path(
        "desk/tickets/<int:ticket_id>/<slug:action>/",
        views_desk.desk_action,
        name="desk_action",
    ),
    path("desk/admin/", views_admin.admin_index, name="desk_admin"),
    path("desk/admin/users/", views_admin.admin_users, name="desk_admin_users"),
    path("desk/admin/users/<int:user_id>/", views_admin.admin_user, name="desk_admin_user"),
    path("desk/admin/teams/", views_admin.admin_teams, name="desk_admin_teams"),
    path("desk/admin/teams/<int:team_id>/", views_admin.admin_team, name="desk_admin_team"),
    path(
        "desk/admin/organizations/",
        views_admin.admin_organizations,
        name="desk_admin_organizations",
    ),
    path(
        "desk/admin/organizations/<int:organization_id>/",
        views_admin.admin_organization,
        name="desk_admin_organization",
    ),
    path("desk/admin/categories/", views_admin.admin_categories, name="desk_admin_categories"),
    path(
        "desk/admin/categories/<int:category_id>/",
        views_admin.admin_category,
        name="desk_admin_category",
    ),
    path(
        "desk/admin/custom-fields/",
        views_admin.admin_custom_fields,
        name="desk_admin_custom_fields",
    ),
    path(
        "desk/admin/custom-fields/<int:field_id>/",
        views_admin.admin_custom_field,
        name="desk_admin_custom_field",
    ),
    path("desk/admin/statuses/", views_admin.admin_statuses, name="desk_admin_statuses"),
]
