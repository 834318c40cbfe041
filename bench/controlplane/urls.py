"""The product's URLs, plus two baselines in front of them:

- ``/bench/bare``: a Django view returning a small ``JsonResponse`` through the
  same middleware, the 1 every figure is a ratio to;
- ``/bench/drf``: the least an authenticated DRF view costs (JWT, one query),
  for reference.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatplatform.urls import handler400, handler403, handler404, handler500
from chatplatform.urls import urlpatterns as product

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "path": request.path})


class MinimalDRFView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"id": str(request.user.pk)})


urlpatterns = [
    path("bench/bare", bare),
    path("bench/drf", MinimalDRFView.as_view()),
    *product,
]
