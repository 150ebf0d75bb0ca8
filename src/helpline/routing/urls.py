from django.urls import path

from helpline.routing import views, views_admin

app_name = "routing"

urlpatterns = [
    path("desk/availability/", views.availability, name="availability"),
    path("desk/admin/routing/", views_admin.routing, name="admin"),
    path("desk/admin/routing/teams/<int:team_id>/", views_admin.strategy, name="admin_strategy"),
    path("desk/admin/routing/rules/new/", views_admin.rule_new, name="admin_rule_new"),
    path("desk/admin/routing/rules/<int:rule_id>/", views_admin.rule, name="admin_rule"),
    path(
        "desk/admin/routing/rules/<int:rule_id>/toggle/",
        views_admin.rule_toggle,
        name="admin_rule_toggle",
    ),
    path(
        "desk/admin/routing/rules/<int:rule_id>/move/",
        views_admin.rule_move,
        name="admin_rule_move",
    ),
    path(
        "desk/admin/routing/rules/<int:rule_id>/delete/",
        views_admin.rule_delete,
        name="admin_rule_delete",
    ),
    path("desk/admin/routing/skills/", views_admin.skills, name="admin_skills"),
    path(
        "desk/admin/routing/skills/<int:skill_id>/delete/",
        views_admin.skill_delete,
        name="admin_skill_delete",
    ),
    path("desk/admin/routing/agents/<int:user_id>/", views_admin.agent, name="admin_agent"),
]
