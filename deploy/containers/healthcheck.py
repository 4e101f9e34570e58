"""The image's HEALTHCHECK: GET /health of the service this container runs, on its port.

The service is the one the container's first process runs (`python -m <service>`, as the entrypoint
starts it, whether named by argument or by EFRIKORT_SERVICE); the port is EFRIKORT_HTTP_PORT, else
that service's default. A service serving TLS is
asked over https; its certificate is not checked here (the question is whether the process answers).
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.request
from pathlib import Path

DEFAULT_PORTS = {"desk": 8080, "registration": 8081, "protection": 8082, "access": 8083, "notifications": 8084}


def running_service() -> str:
    try:
        arguments = Path("/proc/1/cmdline").read_bytes().decode().split("\0")
    except OSError:
        arguments = []
    if "-m" in arguments[:-1]:
        return arguments[arguments.index("-m") + 1]
    return os.environ.get("EFRIKORT_SERVICE", "registration")


def main() -> int:
    service = running_service()
    port = os.environ.get("EFRIKORT_HTTP_PORT") or str(DEFAULT_PORTS.get(service, 8080))
    tls = bool(os.environ.get("EFRIKORT_TLS_CERTIFICATE"))
    context = ssl._create_unverified_context() if tls else None
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=4, context=context) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
