#!/usr/bin/env python3
"""Check what `sam build` made: the deploy artifact `sam deploy` would upload.

    .venv/bin/python infra/check_package.py .aws-sam/build

For every AWS::Serverless::Function of template.yaml, the built template must point at a folder
holding an executable `bootstrap` that is a 64-bit Linux ELF for arm64 (the functions'
`Architectures: [arm64]`, runtime provided.al2023). Prints one line per function with its size.
Exits 0 when all are there, 1 otherwise.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EM_AARCH64 = 183


def _functions(template: Path) -> dict[str, str]:
    """Logical id -> CodeUri of every function of a (SAM) template."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    resources = (yaml.load(template.read_text(), Loader=Loader) or {}).get("Resources") or {}
    return {
        name: str((r.get("Properties") or {}).get("CodeUri", ""))
        for name, r in resources.items()
        if isinstance(r, dict) and r.get("Type") == "AWS::Serverless::Function"
    }


def elf_problem(path: Path) -> str:
    """Why `path` is not an arm64 Linux executable, or ""."""
    if not path.is_file():
        return "no bootstrap"
    if not os.access(path, os.X_OK):
        return "bootstrap is not executable"
    head = path.read_bytes()[:20]
    if head[:4] != b"\x7fELF":
        return "bootstrap is not an ELF executable"
    if head[4] != 2 or head[5] != 1:
        return "bootstrap is not a 64-bit little-endian ELF"
    machine = struct.unpack_from("<H", head, 18)[0]
    if machine != EM_AARCH64:
        return f"bootstrap is for machine {machine}, not arm64 ({EM_AARCH64})"
    return ""


def check(build_dir: Path) -> list[str]:
    """Problems of the artifact in `build_dir` (empty: good). Prints one line per function."""
    built = build_dir / "template.yaml"
    if not built.is_file():
        return [f"{built}: missing (did sam build run?)"]
    expected, made = _functions(ROOT / "template.yaml"), _functions(built)
    problems = []
    for name in expected:
        code_uri = made.get(name)
        if not code_uri:
            problems.append(f"{name}: not in {built}")
            continue
        bootstrap = (build_dir / code_uri / "bootstrap").resolve()
        problem = elf_problem(bootstrap)
        if problem:
            problems.append(f"{name}: {problem} ({bootstrap})")
        else:
            print(f"  {name}: {bootstrap.relative_to(ROOT) if bootstrap.is_relative_to(ROOT) else bootstrap}, arm64, {bootstrap.stat().st_size / 1e6:.1f} MB")
    return problems


def main(argv: list[str]) -> int:
    build_dir = Path(argv[1] if len(argv) > 1 else ROOT / ".aws-sam" / "build")
    problems = check(build_dir)
    for problem in problems:
        print(f"check_package: {problem}", file=sys.stderr)
    if not problems:
        print(f"{build_dir}: the deploy artifact is complete")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
