"""Print the kill rate of `make mutation` and its survivors (issue 10 §4).

Reads mutmut's summary (`mutants/mutmut-cicd-stats.json`) and `mutmut results`; exits non-zero
below the floor, so the target fails when the permission tests stop catching broken rules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FLOOR = 95.0


def main() -> int:
    stats = json.loads(Path("mutants/mutmut-cicd-stats.json").read_text())
    caught = stats["killed"] + stats["timeout"] + stats["segfault"]
    judged = caught + stats["survived"] + stats["no_tests"] + stats["suspicious"]
    rate = 100.0 * caught / judged if judged else 0.0
    print(
        f"api/authz mutants: {stats['total']} made, {judged} judged; killed {caught},"
        f" survived {stats['survived']}, no covering test {stats['no_tests']},"
        f" suspicious {stats['suspicious']}, skipped {stats['skipped']}"
    )
    print(f"kill rate: {rate:.1f} % (floor {FLOOR:.0f} %)")
    results = subprocess.run(  # noqa: S603 - this venv's mutmut, fixed arguments
        [str(Path(sys.executable).with_name("mutmut")), "results"],
        capture_output=True,
        text=True,
        check=False,
    )
    # `mutmut results` also lists mutants an interrupted run never reached ("not checked").
    survivors = [
        line.strip()
        for line in results.stdout.splitlines()
        if line.strip() and not line.strip().endswith("not checked")
    ]
    if judged < stats["total"]:
        print(f"the run did not finish: {stats['total'] - judged} mutants not checked")
    if survivors:
        print("not killed:")
        for line in survivors:
            print(f"  {line}")
    return 0 if rate >= FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())
