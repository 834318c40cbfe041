"""Control-plane benchmark: the production server configuration on loopback,
driven by ``wrk``, every figure a ratio to a bare Django view measured in the
same run. See ``bench/controlplane/run.py``."""
