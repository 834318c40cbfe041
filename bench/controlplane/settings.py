"""The product's settings plus the benchmark's baseline views, which exist only here."""

from chatplatform.settings import *  # noqa: F403

ROOT_URLCONF = "bench.controlplane.urls"
