"""The template's SharedNumber and AlertSenderIdentity patterns refuse at deploy what the functions
refuse at start, on the samples of infra/sms-identity-samples.json (which shared/src/config.rs
checks against the parser):

    .venv/bin/python -m unittest infra/test_sms_parameters.py -v
"""

from __future__ import annotations

import json
import re
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = json.loads((ROOT / "infra" / "sms-identity-samples.json").read_text())


class _Loader(yaml.SafeLoader):
    """PyYAML with CloudFormation's short-form tags read as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def parameters() -> dict:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)
    return template["Parameters"]


class SmsParameters(unittest.TestCase):
    def check(self, name: str) -> None:
        parameter = parameters()[name]
        # CloudFormation matches the pattern against the whole value.
        pattern = re.compile(parameter["AllowedPattern"])
        samples = SAMPLES[name]
        for value in samples["valid"] + samples["start_only"]:
            self.assertIsNotNone(pattern.fullmatch(value), f"{name} refuses {value!r}")
        for value in samples["invalid"]:
            self.assertIsNone(pattern.fullmatch(value), f"{name} lets {value!r} through")
        self.assertIn("ConstraintDescription", parameter)

    def test_shared_number(self) -> None:
        self.check("SharedNumber")
        self.assertNotIn("Default", parameters()["SharedNumber"], "the shared number is required")

    def test_alert_sender_identity(self) -> None:
        self.check("AlertSenderIdentity")
        self.assertEqual(parameters()["AlertSenderIdentity"]["Default"], "", "empty: the shared number")


if __name__ == "__main__":
    unittest.main()
