from django.db import migrations, models


def refuse_staff_with_a_tenant(apps, schema_editor):
    """Stop, naming the accounts, rather than guess: clearing the tenant would drop a
    person's tenant role and chat account, clearing ``is_staff`` would lock someone out
    of the console. Neither the demo seed nor the factories create such rows."""
    User = apps.get_model("accounts", "User")
    bad = list(
        User.objects.filter(is_staff=True, tenant__isnull=False)
        .order_by("email")
        .values_list("email", flat=True)[:20]
    )
    if bad:
        raise RuntimeError(
            "Platform staff must have no tenant, and these staff accounts have one: "
            f"{', '.join(bad)}. For each, either clear its tenant (it is platform staff) "
            "or clear is_staff (it is a tenant user), then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_sessions_revoked_at"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(refuse_staff_with_a_tenant, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(("is_staff", False), ("tenant__isnull", True), _connector="OR"),
                name="user_staff_has_no_tenant",
                violation_error_message=(
                    "Platform staff have no tenant: clear the tenant, or leave “staff status” unchecked."
                ),
            ),
        ),
    ]
