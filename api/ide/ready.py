"""`make run`'s announcement: once the API answers /readyz, where the IDE is and a first token.

Started in the background beside `medspa-api serve`; it gives up when the recipe that started
it ends (its parent changes) or after `WAIT_S`, so it never outlives the server by much.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request

from api.settings import get_settings

WAIT_S = 600  # a first start migrates and seeds before it serves
FIRST_USER = "nina@glow.example"


def announcement(base_url: str) -> str:
    return "\n".join(
        (
            "",
            "The API is ready.",
            f"  IDE (GraphiQL):  {base_url}/graphql",
            f"  A first token:   .venv/bin/medspa-api token {FIRST_USER}",
            '                   (paste it into the IDE\'s Headers after "Bearer ")',
            "  Demo users, ids: .venv/bin/medspa-api demo",
            "",
        )
    )


def wait_until_ready(base_url: str, *, wait_s: float = WAIT_S) -> bool:
    parent = os.getppid()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and os.getppid() == parent:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as answer:  # noqa: S310 - our own http URL
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    return False


def main() -> int:
    settings = get_settings()
    base_url = f"http://{settings.host}:{settings.port}"
    if not wait_until_ready(base_url):
        return 1
    print(announcement(base_url), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
