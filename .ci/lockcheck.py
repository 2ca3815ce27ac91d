"""Is the lock in step with pyproject.toml? (stdlib only, so CI can ask before installing)

`bash .ci/lock` stamps both lock files with a digest of pyproject's dependency lists; this
script recomputes it, and checks that the runtime lock pins exactly what the dev lock pins.
`python3 .ci/lockcheck.py --stamp` prints the digest (the lock script uses it).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
STAMP_PREFIX = "# pyproject-dependencies-sha256: "
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def stamp(pyproject: Path = PYPROJECT) -> str:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted = {
        "dependencies": sorted(project.get("dependencies", [])),
        "optional-dependencies": {
            extra: sorted(reqs) for extra, reqs in project.get("optional-dependencies", {}).items()
        },
        "requires-python": project.get("requires-python", ""),
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    return {normalize(m.group(1)): m.group(3) for m in PIN.finditer(lock.read_text("utf-8"))}


def problems() -> list[str]:
    found = []
    expected = stamp()
    for lock in (RUNTIME_LOCK, DEV_LOCK):
        if not lock.exists():
            found.append(f"{lock.name} is missing")
            continue
        text = lock.read_text(encoding="utf-8")
        if STAMP_PREFIX + expected not in text:
            found.append(f"{lock.name} was made from another pyproject.toml")
        unhashed = [
            block.split("==")[0]
            for block in re.split(r"\n(?=[A-Za-z0-9])", text)
            if "==" in block and not block.startswith("#") and "--hash=sha256:" not in block
        ]
        if unhashed:
            found.append(f"{lock.name}: no hashes for {', '.join(unhashed)}")
    if not found:
        dev = pins(DEV_LOCK)
        for name, version in pins(RUNTIME_LOCK).items():
            if dev.get(name) != version:
                found.append(f"{name}=={version} in requirements.lock, {dev.get(name)} in dev")
    return found


def main(argv: list[str]) -> int:
    if argv[1:] == ["--stamp"]:
        print(stamp())
        return 0
    found = problems()
    for problem in found:
        print(f"lock: {problem}", file=sys.stderr)
    if found:
        print("lock: run `bash .ci/lock` and commit both lock files", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
