#!/usr/bin/env python3
"""Check vigie's SAM template offline, the way CloudFormation would see it.

    .venv/bin/python infra/check_template.py template.yaml

1. loads the SAM template with cfn-lint's loader (short-form tags such as !Ref, !Sub);
2. checks the table contract that local tooling relies on (docs/data-model.md);
3. gives every local CodeUri a dummy s3:// URI and transforms the template with
   aws-sam-translator, offline (no IAM look-up: an empty managed-policy map);
4. runs cfn-lint on the SAM template and on the CloudFormation it became. The second run
   matters: cfn-lint alone neither looks inside SAM `Events` (FunctionResponseTypes,
   StartingPosition, GetAtt...) nor sees what the transform generates (circular
   dependencies, IAM documents).

Exits 0 when all is clean, 1 on any transform error or lint error or warning (informational
findings are printed but do not fail), 2 on bad usage. Needs no AWS account or network.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REGION = "eu-west-3"
# Local paths SAM would upload at `sam package`/`sam deploy`; the translator wants S3 URIs.
LOCAL_URI_KEYS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}

# The tables local tooling creates from this file, and the only Properties it understands.
TABLES = ("MembersTable", "AlertsTable", "LedgerTable")
TABLE_PROPERTIES = {
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
    "TimeToLiveSpecification",
    "PointInTimeRecoverySpecification",
}


class _NoManagedPolicies:
    """A managed-policy loader that never calls IAM: the template names no managed policy
    by its short name (SAM adds its own by ARN)."""

    def load(self) -> dict[str, str]:
        return {}


def _load(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    from cfnlint.decode import decode

    template, matches = decode(str(path))
    problems = [f"{path}:{m.linenumber}: [{m.rule.id}] {m.message}" for m in matches or []]
    if template is None and not problems:
        problems.append(f"{path}: not a template")
    return template, problems


def _table_contract(template: dict[str, Any]) -> list[str]:
    resources = template.get("Resources") or {}
    problems = []
    for name in TABLES:
        resource = resources.get(name)
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::DynamoDB::Table":
            problems.append(f"contract: {name} must be an AWS::DynamoDB::Table")
            continue
        props = resource.get("Properties") or {}
        unknown = sorted(set(props) - TABLE_PROPERTIES)
        if unknown:
            problems.append(
                f"contract: {name} has Properties local tooling does not read: {', '.join(unknown)}"
                + (" (CloudFormation names the tables)" if "TableName" in unknown else "")
            )
        for key in ("AttributeDefinitions", "KeySchema", "BillingMode", "PointInTimeRecoverySpecification"):
            if key not in props:
                problems.append(f"contract: {name} lacks {key}")
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            if resource.get(policy) != "Retain":
                problems.append(f"contract: {name} must have {policy}: Retain (member data)")
    return problems


def _with_s3_uris(template: dict[str, Any]) -> dict[str, Any]:
    sam = copy.deepcopy(template)
    for name, resource in (sam.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        key = LOCAL_URI_KEYS.get(resource.get("Type"))
        props = resource.get("Properties")
        if key and isinstance(props, dict) and isinstance(props.get(key), str) and not props[key].startswith("s3://"):
            props[key] = f"s3://vigie-template-check/{name}.zip"
    return sam


def _transform(sam: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    # The translator reads the region from the environment to fill in pseudo parameters;
    # creating a boto3 session makes no network call.
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    # The translator records metrics for a publisher we don't have and warns about them later.
    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)
    from samtranslator.model.exceptions import InvalidDocumentException, ExceptionWithMessage
    from samtranslator.translator.transform import transform

    try:
        return transform(sam, {}, _NoManagedPolicies()), []
    except InvalidDocumentException as e:
        return None, [f"sam-translator: {cause.message}" for cause in e.causes] or [f"sam-translator: {e.message}"]
    except ExceptionWithMessage as e:
        return None, [f"sam-translator: {e.message}"]
    except Exception as e:  # a template malformed enough to crash the translator
        return None, [f"sam-translator: could not transform the template: {type(e).__name__}: {e}"]


def _lint(path: Path, label: str, lines: bool = True) -> tuple[list[str], list[str]]:
    """Returns (failures, notes): errors and warnings fail, informational findings don't.
    Without `lines` (a generated file), findings are located by their path only."""
    from cfnlint.api import ManualArgs, lint_file

    failures, notes = [], []
    matches = lint_file(path, config=ManualArgs(regions=[REGION], include_checks=["I"]))
    # A finding such as "not valid under any of the given schemas" comes with one child per
    # schema it tried; the parent says enough.
    ids = {m.id for m in matches}
    for m in matches:
        if m.parent_id in ids:
            continue
        where = "/".join(str(p) for p in getattr(m, "path", []) or [])
        line = f"{label}:{m.linenumber}: " if lines else f"{label}: "
        line += f"[{m.rule.id}] {m.message}" + (f"  (at {where})" if where else "")
        (notes if m.rule.id.startswith("I") else failures).append(line)
    return failures, notes


def check(path: Path, keep: Path | None = None) -> tuple[list[str], list[str]]:
    """Checks the SAM template at `path`. Returns (failures, notes); no failures means clean.
    With `keep`, the transformed CloudFormation is also written there."""
    template, problems = _load(path)
    if problems or template is None:
        return problems, []
    failures = _table_contract(template)
    cfn, transform_failures = _transform(_with_s3_uris(template))
    failures += transform_failures
    sam_failures, notes = _lint(path, str(path))
    failures += sam_failures
    if cfn is not None:
        with tempfile.TemporaryDirectory(prefix="vigie-check-") as tmp:
            out = Path(tmp) / "transformed.json"
            out.write_text(json.dumps(cfn, indent=2, sort_keys=False))
            if keep is not None:
                keep.write_text(out.read_text())
            cfn_failures, cfn_notes = _lint(out, f"{path}, as transformed by SAM", lines=False)
            failures += cfn_failures
            notes += cfn_notes
    return failures, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template", type=Path, help="the SAM template, e.g. template.yaml")
    parser.add_argument("--keep", type=Path, metavar="FILE", help="also write the transformed CloudFormation (JSON) to FILE")
    args = parser.parse_args(argv)
    if not args.template.is_file():
        print(f"check_template: no such file: {args.template}", file=sys.stderr)
        return 2

    started = time.monotonic()
    failures, notes = check(args.template, args.keep)
    elapsed = time.monotonic() - started
    for note in notes:
        print(f"note: {note}")
    if failures:
        print(f"{args.template}: {len(failures)} problem(s):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        print(f"FAILED in {elapsed:.1f}s", file=sys.stderr)
        return 1
    print(f"{args.template}: OK (SAM transform + cfn-lint, region {REGION}) in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
