"""The onboarding console (the Django admin) writes through the services.

A console edit must keep the same rules as the API and leave the same trace: an
audit event with the staff user as actor and the outbox row, written by the
service in the transaction of the change. :class:`ServiceModelAdmin` routes
every write of the admin (add, change, delete, "delete selected") to three
hooks its subclasses implement with their app's services, and turns a
service's refusal (:class:`ApplicationError`) into what the person sees:

- on an add or change page, the same form again with the refusal as form
  errors (on the fields the service names, else at the top), nothing written;
- on a delete, or a bulk action, an error message, nothing deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from chatplatform.errors import ApplicationError

# What a mixin of forms or model admins extends, as the type checker sees it.
if TYPE_CHECKING:
    _FormBase = forms.BaseForm
    AdminMixinBase = admin.ModelAdmin
else:
    _FormBase = AdminMixinBase = object

ModelT = TypeVar("ModelT", bound=models.Model)

# Where a refused form submission keeps the refusal while the form is shown again.
_REFUSAL = "_console_refusal"


def refusal_message(error: ApplicationError) -> str:
    """One line for an admin message: the service's message, with its field problems."""
    problems = [str(problem) for found in (error.fields or {}).values() for problem in found]
    extra = [problem for problem in problems if problem != error.message]
    return " ".join([error.message, *extra])


def changed_values(form: forms.ModelForm, fields: frozenset[str]) -> dict[str, Any]:
    """The cleaned values of the form's changed fields among ``fields``: what a
    service's ``data`` takes, so an unchanged form changes (and audits) nothing."""
    return {name: form.cleaned_data[name] for name in form.changed_data if name in fields}


class _ShowsRefusal(_FormBase):
    """A form that fails validation with a service's refusal (see ``get_form``)."""

    refusal: ApplicationError
    field_names: ClassVar[dict[str, str]] = {}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        problems = self.refusal.fields or {"": [self.refusal.message]}
        for service_field, found in problems.items():
            field = self.field_names.get(service_field, service_field)
            for problem in found:
                self.add_error(field if field in self.fields else None, str(problem))
        return cleaned


class ServiceModelAdmin(admin.ModelAdmin, Generic[ModelT]):
    """A model admin whose every write goes through a service.

    Subclasses implement :meth:`service_create`, :meth:`service_update` and
    :meth:`service_delete`; fields no service changes belong in the read-only
    fields. ``service_field_names`` maps a service's error field to the form's
    field where the names differ.
    """

    service_field_names: ClassVar[dict[str, str]] = {}

    # The hooks -----------------------------------------------------------

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> ModelT:
        """Create the object from the valid add form and return it."""
        raise NotImplementedError

    def service_update(self, request: HttpRequest, obj: ModelT, form: forms.ModelForm) -> None:
        """Apply the valid change form. ``obj`` carries the form's values; the
        service is given a copy fresh from the database, so that it sees (and
        audits) the state before the change."""
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: ModelT) -> None:
        raise NotImplementedError

    # Writes --------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        if change:
            self.service_update(request, obj, form)
            obj.refresh_from_db()
            return
        created = self.service_create(request, form)
        # The admin goes on with the form's instance (inlines, history, redirect): make it the row.
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: ModelT) -> None:
        self.service_delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            for obj in queryset:
                self.service_delete(request, obj)

    # Refusals ------------------------------------------------------------

    def get_form(
        self, request: HttpRequest, obj: models.Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, _REFUSAL, None)
        if refusal is None:
            return form
        attrs = {"refusal": refusal, "field_names": self.service_field_names}
        return type(form.__name__, (_ShowsRefusal, form), attrs)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """A refused save rolls back whatever it wrote, and the page is shown
        again with the same input and the refusal as form errors."""
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            with transaction.atomic():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as refusal:
            if hasattr(request, _REFUSAL):
                raise
            setattr(request, _REFUSAL, refusal)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            with transaction.atomic():
                return super().delete_view(request, object_id, extra_context)
        except ApplicationError as refusal:
            self.message_user(request, f"Not deleted: {refusal_message(refusal)}", messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)
        if "delete_selected" in actions:
            _, name, description = actions["delete_selected"]
            actions["delete_selected"] = (delete_selected, name, description)
        return actions


class ObjectActionsMixin(AdminMixinBase):
    """List actions that an object's change page also offers as buttons.

    ``object_actions`` names entries of ``get_actions`` (the same functions, so a
    button cannot drift from its list action, and apps that extend the admin add
    theirs there); :meth:`object_action_applies` hides the ones that make no
    sense for the object. A button posts to ``<id>/actions/<name>/``, which runs
    the action on that one object.
    """

    object_actions: ClassVar[tuple[str, ...]] = ()
    change_form_template = "admin/console/change_form.html"

    def object_action_applies(self, name: str, obj: Any) -> bool:
        return True

    def _change_url(self, obj: models.Model) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        view = self.admin_site.admin_view(self.object_action_view)
        name = f"{opts.app_label}_{opts.model_name}_object_action"
        return [path("<path:object_id>/actions/<str:action>/", view, name=name), *super().get_urls()]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: models.Model | None = None,
    ) -> HttpResponse:
        buttons: list[tuple[str, str]] = []
        if obj is not None and obj.pk is not None:  # the object the page already loaded
            actions: dict[str, Any] = self.get_actions(request)
            buttons = [
                (name, actions[name][2])
                for name in self.object_actions
                if name in actions and self.object_action_applies(name, obj)
            ]
        context = {**context, "object_actions": buttons}
        return super().render_change_form(request, context, add, change, form_url, obj)

    def object_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        actions: dict[str, Any] = self.get_actions(request)
        if obj is None or action not in self.object_actions or action not in actions:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        func = actions[action][0]
        response = func(self, request, self.get_queryset(request).filter(pk=obj.pk))
        return response or HttpResponseRedirect(self._change_url(obj))


def action_entry(func: Callable[..., HttpResponse | None], name: str) -> tuple[Callable, str, str]:
    """The ``(function, name, description)`` that ``get_actions`` holds for an admin action."""
    return func, name, str(getattr(func, "short_description", name))


@admin.action(permissions=["delete"])
def delete_selected(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> HttpResponse | None:
    """Django's "delete selected" (its confirmation page, then ``delete_queryset``),
    all or nothing: one refusal deletes none of the selection and says why."""
    try:
        with transaction.atomic():
            return django_delete_selected(modeladmin, request, queryset)
    except ApplicationError as refusal:
        modeladmin.message_user(request, f"Nothing was deleted: {refusal_message(refusal)}", messages.ERROR)
        return None
