"""Stream's app endpoints: app settings, custom roles, channel types and
the tasks that report asynchronous operations. All but ``GET /app`` are
server-side only, and a client's ``GET /app`` shows only client settings."""

from __future__ import annotations

import uuid
from typing import Any

from chatengine.api.http import Call
from chatengine.errors import not_found
from chatengine.models import ChannelType, Role, Task
from chatengine.permissions import BUILTIN_ROLES
from chatengine.serializers import (
    iso,
)
from chatengine.services import app as app_services
from chatengine.services.uploads import max_bytes

# Stream's app fields this engine has no use for, at their neutral values.
APP_DEFAULTS: dict[str, Any] = {
    "id": 1,
    "name": "chatengine",
    "organization": "",
    "placement": "",
    "push_notifications": {
        "version": "v2",
        "offline_only": False,
        "apn": {"enabled": False, "development": False},
        "firebase": {"enabled": False},
        "huawei": {"enabled": False},
        "xiaomi": {"enabled": False},
    },
    "webhook_url": "",
    "moderation_webhook_url": "",
    "call_types": {},
    "policies": {},
    "suspended": False,
    "suspended_explanation": "",
    "disable_auth_checks": False,
    "disable_permissions_checks": False,
    "permission_version": "v2",
    "user_search_disallowed_roles": [],
    "allow_multi_user_devices": False,
    "image_moderation_enabled": False,
    "async_url_enrich_enabled": False,
    "auto_translation_enabled": False,
    "custom_action_handler_url": "",
    "enforce_unique_usernames": "no",
    "sqs_url": "",
    "sqs_key": "",
    "sqs_secret": "",
    "sns_topic_arn": "",
    "sns_key": "",
    "sns_secret": "",
    # (size_limit: the engine's own limit, set in app_get.)
    "file_upload_config": {"size_limit": 0},
    "image_upload_config": {"size_limit": 0},
    "grants": {},
    "campaign_enabled": False,
    "webhook_events": [],
    "reminders_interval": 0,
    "cdn_expiration_seconds": 0,
    "moderation_enabled": False,
    "moderation_multitenant_blocklist_enabled": False,
    "guest_user_creation_disabled": True,
    "event_hooks": [],
    "use_hook_v2": False,
    "user_response_time_enabled": False,
    "moderation_llm_configurability_enabled": False,
    "max_aggregated_activities_length": 0,
    "feed_audit_logs_enabled": False,
    "moderation_video_call_moderation_enabled": False,
    "moderation_audio_call_moderation_enabled": False,
    "member_custom_on_messages_enabled": False,
}


# The stored settings a client (user token) is shown: what the SDKs and the UI
# kit read (upload limits, feature switches), never credentials, hook URLs,
# grants or policies. An allow-list, so a setting added later stays server-only
# until someone decides a client needs it; the rest answer at their neutral
# values, which keeps the answer the shape Stream's spec describes.
CLIENT_SETTINGS = frozenset(
    {
        "name",
        "suspended",
        "suspended_explanation",
        "permission_version",
        "allow_multi_user_devices",
        "async_url_enrich_enabled",
        "auto_translation_enabled",
        "enforce_unique_usernames",
        "file_upload_config",
        "image_upload_config",
        "reminders_interval",
        "cdn_expiration_seconds",
        "user_response_time_enabled",
        "member_custom_on_messages_enabled",
    }
)


def app_get(call: Call) -> dict[str, Any]:
    app = call.caller.app
    shown = APP_DEFAULTS.keys() if call.caller.server else CLIENT_SETTINGS
    body: dict[str, Any] = {
        **APP_DEFAULTS,
        **{key: value for key, value in app.settings.items() if key in shown},
        "multi_tenant_enabled": app.multi_tenant_enabled,
        "channel_configs": {name: call.types.config(name) for name in app_services.BUILTIN_CHANNEL_TYPES},
    }
    for key in ("file_upload_config", "image_upload_config"):
        # The limit the engine enforces (CHATENGINE_UPLOAD_MAX_MB), whatever was
        # stored: the JS client checks files against it before sending them.
        body[key] = {**body[key], "size_limit": max_bytes()}
    if call.caller.server and app.revoke_tokens_issued_before is not None:
        body["revoke_tokens_issued_before"] = iso(app.revoke_tokens_issued_before)
    return {"app": body}


def app_update(call: Call) -> dict[str, Any]:
    call.require_server()
    app_services.app_update(data=call.body)
    return {}


def roles_list(call: Call) -> dict[str, Any]:
    call.require_server()
    custom = [
        app_services.role_payload(r.name, custom=True, created_at=r.created_at, updated_at=r.updated_at)
        for r in Role.objects.order_by("name")
    ]
    app = call.caller.app
    builtin = [
        app_services.role_payload(name, custom=False, created_at=app.updated_at, updated_at=app.updated_at)
        for name in sorted(BUILTIN_ROLES)
    ]
    return {"roles": builtin + custom}


def role_create(call: Call) -> dict[str, Any]:
    call.require_server()
    role = app_services.role_create(name=call.body.get("name"))
    return {
        "role": app_services.role_payload(
            role.name, custom=True, created_at=role.created_at, updated_at=role.updated_at
        )
    }


def role_delete(call: Call, name: str) -> dict[str, Any]:
    call.require_server()
    app_services.role_delete(name=name)
    return {}


def channel_types_list(call: Call) -> dict[str, Any]:
    call.require_server()
    names = list(app_services.BUILTIN_CHANNEL_TYPES)
    names += [n for n in ChannelType.objects.values_list("name", flat=True) if n not in names]
    return {
        "channel_types": {
            name: app_services.channel_type_payload(app_services.channel_type_get(name)) for name in names
        }
    }


def channel_type_create(call: Call) -> dict[str, Any]:
    call.require_server()
    return app_services.channel_type_payload(app_services.channel_type_create(data=call.body))


def channel_type_get(call: Call, name: str) -> dict[str, Any]:
    call.require_server()
    return app_services.channel_type_payload(app_services.channel_type_get(name))


def channel_type_update(call: Call, name: str) -> dict[str, Any]:
    call.require_server()
    return app_services.channel_type_payload(app_services.channel_type_update(name=name, data=call.body))


def task_get(call: Call, task_id: str) -> dict[str, Any]:
    call.require_server()
    task = Task.objects.filter(pk=task_id).first() if _is_uuid(task_id) else None
    if task is None:
        raise not_found(f"task {task_id}")
    body: dict[str, Any] = {
        "task_id": str(task.pk),
        "status": task.status,
        "result": task.result,
        "created_at": iso(task.created_at),
        "updated_at": iso(task.updated_at),
    }
    if task.error:
        body["error"] = task.error
    return body


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
