"""Password hashing: Argon2id with parameters sized for a login endpoint, and a
bound on how many hashes a process runs at once.

Django's Argon2 defaults (8 lanes, 100 MiB, 2 passes) put eight threads and
100 MiB behind every login: at 32 concurrent sign-ins a two-core server
managed 9 a second and kept people waiting 3 s, with gigabytes in use. These
are OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane): still far beyond
what a GPU farm can guess cheaply, at a fraction of the cost per login.
Hashes made with other parameters still verify, and Django rewrites them with
these at the user's next login.

Hashing is also bounded per process (``PASSWORD_HASH_CONCURRENCY``, default 1):
extra logins queue for a slot instead of thrashing the cores and memory that
every other request needs. The login throttle answers before any of this.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import hashers


@cache
def _slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(settings.PASSWORD_HASH_CONCURRENCY)


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        with _slots():
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with _slots():
            return super().verify(password, encoded)

    def harden_runtime(self, password: str, encoded: str) -> Any:
        with _slots():
            return super().harden_runtime(password, encoded)
