#!/usr/bin/env python3
"""Print vigie's SAM template as the CloudFormation the SAM transform makes of it, offline.

    .venv/bin/python infra/transform.py template.yaml            # JSON on stdout
    .venv/bin/python infra/transform.py template.yaml -o out.json

The same transform as `infra/check_template.py` (cfn-lint's loader, dummy s3:// CodeUris, no
IAM look-up), without the lint: about a second. The tests read it to find each function's role
as AWS will create it (`<Function>Role`, its inline `Policies`), so that the IAM contract
(docs/iam.md) judges the policies a deploy really gets, not the template's shorthand.

Exits 0 and writes the JSON, 1 on a load or transform error (printed on stderr), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_template import _load, _transform, _with_s3_uris  # noqa: E402


def transform(path: Path) -> tuple[dict | None, list[str]]:
    """The transformed CloudFormation of the SAM template at `path`, or the problems."""
    template, problems = _load(path)
    if problems or template is None:
        return None, problems
    return _transform(_with_s3_uris(template))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template", type=Path, help="the SAM template, e.g. template.yaml")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the JSON to FILE instead of stdout")
    args = parser.parse_args(argv)
    if not args.template.is_file():
        print(f"transform: no such file: {args.template}", file=sys.stderr)
        return 2
    cfn, problems = transform(args.template)
    if cfn is None:
        for problem in problems or ["the template could not be transformed"]:
            print(problem, file=sys.stderr)
        return 1
    text = json.dumps(cfn, indent=1, sort_keys=True)
    if args.output:
        args.output.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
