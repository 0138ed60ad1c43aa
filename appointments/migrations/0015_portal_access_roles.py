"""Shared portals and roles: PortalAccess grants, the admin/operator/viewer groups, and the
grants existing people need to keep what they had."""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import migrations, models

# Frozen here (services.access.ROLE_PERMISSIONS says the same): a migration never imports app
# code that may change later.
ROLE_PERMISSIONS = {
    "admin": (
        "manage_portal",
        "send_batch",
        "see_every_batch",
        "act_on_every_batch",
        "view_batch",
        "view_portal",
        "change_portal",
        "view_portalaccess",
        "add_portalaccess",
        "change_portalaccess",
        "delete_portalaccess",
        "view_batchcall",
    ),
    "operator": ("send_batch", "view_batch"),
    "viewer": ("view_batch",),
}


def roles_and_grants(apps, schema_editor):
    """Create the role groups with their permissions; grant each existing portal to the person
    who connected it and to everyone who made a batch or upload on it, and make those people
    operators (they could send before), unless they already have a role. Superusers are admins
    without a group."""
    config = apps.get_app_config("appointments")
    # Permissions are normally created after migrating; the groups need them now.
    config.models_module = True
    create_contenttypes(config, verbosity=0, apps=apps)
    create_permissions(config, verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    groups = {}
    for role, codenames in ROLE_PERMISSIONS.items():
        groups[role], _ = Group.objects.get_or_create(name=role)
        groups[role].permissions.add(
            *Permission.objects.filter(
                content_type__app_label="appointments", codename__in=codenames
            )
        )
    Portal = apps.get_model("appointments", "Portal")
    PortalAccess = apps.get_model("appointments", "PortalAccess")
    Batch = apps.get_model("appointments", "Batch")
    Upload = apps.get_model("appointments", "Upload")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    pairs = set(Portal.objects.values_list("pk", "connected_by_id"))
    pairs |= set(Batch.objects.values_list("portal_id", "created_by_id"))
    pairs |= set(Upload.objects.values_list("portal_id", "created_by_id"))
    for portal_id, user_id in sorted(pairs):
        PortalAccess.objects.get_or_create(portal_id=portal_id, user_id=user_id)
    people = User.objects.filter(pk__in={user_id for _portal, user_id in pairs})
    for person in people.exclude(groups__name__in=ROLE_PERMISSIONS).exclude(is_superuser=True):
        person.groups.add(groups["operator"])


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0014_data_removal"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="batch",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("send_batch", "Can upload, map, send, retry and undo their own batches"),
                    ("see_every_batch", "Can see every batch of every portal"),
                    ("act_on_every_batch", "Can send, retry, cancel and undo anyone's batch"),
                ],
                "verbose_name": "batch",
                "verbose_name_plural": "batches",
            },
        ),
        migrations.AlterModelOptions(
            name="portal",
            options={
                "ordering": ["hub_id"],
                "permissions": [
                    (
                        "manage_portal",
                        "Can connect, disconnect and set up portals, and grant access",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="PortalAccess",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("granted_at", models.DateTimeField(auto_now_add=True)),
                (
                    "granted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "portal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="grants",
                        to="appointments.portal",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="portal_grants",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["portal", "user"],
                "constraints": [
                    models.UniqueConstraint(fields=("portal", "user"), name="unique_portal_grant")
                ],
            },
        ),
        migrations.RunPython(roles_and_grants, migrations.RunPython.noop),
    ]
