"""The API's content negotiation answers as DRF's own for every Accept header,
the ones it knows beforehand included."""

from __future__ import annotations

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from chatplatform.api.negotiation import ContentNegotiation
from chatplatform.api.renderers import ORJSONRenderer


def _answer(negotiation, renderers, path, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(path, **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, [r() for r in renderers])
    except (NotAcceptable, Http404) as refused:
        return type(refused)
    return type(renderer), media_type


PATHS = ["/api/channels/", "/api/channels/?format=json", "/api/channels/?format=api"]
RENDERERS = [[ORJSONRenderer], [BrowsableAPIRenderer, JSONRenderer], [JSONRenderer, BrowsableAPIRenderer]]


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/json; indent=4",
        "text/html",
        "application/json, text/plain, */*",
        "image/png",
        "",
    ],
)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("renderers", RENDERERS)
def test_answers_as_drf_does(renderers, path, accept):
    from rest_framework.negotiation import DefaultContentNegotiation

    assert _answer(ContentNegotiation(), renderers, path, accept) == _answer(
        DefaultContentNegotiation(), renderers, path, accept
    )


def test_the_api_negotiates_with_it(client):
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is ContentNegotiation
    assert client.get("/api/health", HTTP_ACCEPT="text/html").status_code == 406
    assert client.get("/api/health")["Content-Type"] == "application/json"
