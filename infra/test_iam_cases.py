"""moto's IAM evaluator on the cases the gateway's evaluator is tested with.

    .venv/bin/python -m unittest infra/test_iam_cases.py -v

infra/tests/fixtures/iam_cases.json holds policy-evaluation cases with the expected decision;
the Rust evaluator (infra/src/gateway/policy.rs) is tested on all of them. Here
moto.iam.access_control.IAMPolicy judges those it can (no conditions, no NotResource, case as
written: moto compares actions case-sensitively and reads a failed condition on an Allow as a
Deny), so the two evaluators are checked against each other where both apply.
"""

from __future__ import annotations

import json
import unittest
from pathlib import Path

CASES = Path(__file__).resolve().parent / "tests" / "fixtures" / "iam_cases.json"


class MotoAgrees(unittest.TestCase):
    def test_moto_decides_the_shared_cases_as_expected(self) -> None:
        from moto.iam.access_control import IAMPolicy, PermissionResult

        expected_result = {
            "allow": PermissionResult.PERMITTED,
            "deny": PermissionResult.DENIED,
            "implicit": PermissionResult.NEUTRAL,
        }
        cases = [c for c in json.loads(CASES.read_text())["cases"] if c["moto"]]
        self.assertGreaterEqual(len(cases), 10)
        for case in cases:
            with self.subTest(case["name"]):
                policy = IAMPolicy({"policy_document": json.dumps(case["policy"])})
                result = policy.is_action_permitted(case["action"], case["resource"])
                self.assertEqual(result, expected_result[case["expected"]])


if __name__ == "__main__":
    unittest.main()
