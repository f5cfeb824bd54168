"""Container health check for the web role: GET /healthz on this container and require the
named checks (default: database and broker) to be ok.

/healthz also reports the sandbox backend, which only workers have: a web container has
neither a Docker socket nor the privileges bubblewrap needs, so its /healthz answers 503
for that check alone. Used by compose.yaml and the Kubernetes probes (exec), which also
lets it send a Host the site allows and the X-Forwarded-Proto a TLS proxy would.

    python deploy/healthcheck.py [check ...]     exit 0 healthy, 1 not
"""

from __future__ import annotations

import http.client
import json
import os
import sys


def main(argv: list[str]) -> int:
    wanted = argv or ["database", "broker"]
    conn = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), timeout=5)
    try:
        conn.request("GET", "/healthz", headers={"Host": "localhost", "X-Forwarded-Proto": "https"})
        body = json.loads(conn.getresponse().read() or b"{}")
    except (OSError, ValueError) as exc:
        print(f"healthz unreachable: {exc}", file=sys.stderr)
        return 1
    checks = body.get("checks", {})
    failing = [name for name in wanted if not checks.get(name, {}).get("ok")]
    if failing:
        print(f"failing: {', '.join(failing)}: {json.dumps(checks)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
