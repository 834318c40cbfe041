"""The client's address, for the login throttle and the audit log.

``X-Forwarded-For`` is written by whoever sends the request, so it is believed
only as far as ``NUM_PROXIES`` says: each trusted proxy appends the address it
saw, and the entry the outermost trusted proxy wrote is the client. With no
proxies configured (the default) the header is ignored and the address is the
socket's peer, ``REMOTE_ADDR``. DRF's own ``get_ident`` trusts the header when
``NUM_PROXIES`` is unset, which would let a client pick its own throttle key.
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest
from rest_framework.settings import api_settings


def client_address(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    addresses = [a.strip() for a in forwarded.split(",")]
    if len(addresses) < proxies:
        # Fewer entries than trusted proxies: the chain did not write this header.
        return remote
    candidate = addresses[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # Not an address (a misbehaving proxy): the audit log's column and the
        # throttle key want one, so fall back to the nearest hop we know.
        return remote
