"""Self-test of infra/check_template.py: the real template passes, broken copies fail.

    .venv/bin/python -m unittest infra/test_check_template.py -v

(from the repository root; stdlib unittest only, about 10 s).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_template  # noqa: E402

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


def broken_copy(tmp: str, old: str, new: str) -> Path:
    """template.yaml with exactly one occurrence of `old` replaced by `new`."""
    text = TEMPLATE.read_text()
    if text.count(old) != 1:
        raise AssertionError(f"the mutation expects exactly one {old!r} in template.yaml, found {text.count(old)}")
    path = Path(tmp) / "template.yaml"
    path.write_text(text.replace(old, new))
    return path


class RealTemplate(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.transformed = Path(cls.tmp.name) / "transformed.json"
        cls.failures, cls.notes = check_template.check(TEMPLATE, keep=cls.transformed)
        cls.resources = json.loads(cls.transformed.read_text())["Resources"] if cls.transformed.exists() else {}

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def test_passes_with_no_error_or_warning(self) -> None:
        self.assertEqual(self.failures, [])

    def test_failure_destinations_can_be_written(self) -> None:
        # SAM adds these from `Type: SQS` on the destinations: keep it that way.
        for role, queue in (
            ("InboundSmsFunctionRole", "InboundSmsFailureQueue"),
            ("FanOutFunctionRole", "FanOutFailureQueue"),
            ("DeliveryEventsFunctionRole", "DeliveryEventsFailureQueue"),
        ):
            statements = [
                s
                for p in self.resources[role]["Properties"]["Policies"]
                for s in p["PolicyDocument"]["Statement"]
                if s.get("Effect") == "Allow" and "sqs:SendMessage" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
            ]
            self.assertIn({"Fn::GetAtt": [queue, "Arn"]}, [s["Resource"] for s in statements], role)

    def statements(self, role: str) -> list[dict]:
        return [s for p in self.resources[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]

    def test_senders_may_send_with_the_configuration_set(self) -> None:
        # SES authorises a send with a configuration set on the set too: without it every send
        # fails (issue 9, item 7).
        wanted = {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${EmailConfigurationSet}"}
        for role in ("WebFunctionRole", "FanOutFunctionRole"):
            ses = [s for s in self.statements(role) if "ses:SendRawEmail" in s["Action"]]
            self.assertEqual(len(ses), 1, role)
            self.assertIn(wanted, ses[0]["Resource"], role)
        env = self.resources["FanOutFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["EMAIL_CONFIGURATION_SET"], {"Ref": "EmailConfigurationSet"})

    def test_only_ses_for_this_configuration_set_publishes_receipts(self) -> None:
        policy = self.resources["DeliveryEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        self.assertEqual(len(policy), 1)
        statement = policy[0]
        self.assertEqual(statement["Principal"], {"Service": "ses.amazonaws.com"})
        condition = statement["Condition"]["StringEquals"]
        self.assertEqual(condition["aws:SourceAccount"], {"Ref": "AWS::AccountId"})
        self.assertIn("configuration-set/${EmailConfigurationSet}", condition["aws:SourceArn"]["Fn::Sub"])
        # And no function of ours may publish into it (a forged bounce would stop someone's alerts).
        for role in ("InboundSmsFunctionRole", "FanOutFunctionRole"):
            denied = [s for s in self.statements(role) if s["Effect"] == "Deny" and s["Action"] == "sns:Publish"]
            self.assertIn({"Ref": "DeliveryEventsTopic"}, denied[0]["Resource"], role)

    def test_receipts_reach_the_function_from_both_routes(self) -> None:
        subscription = self.resources["DeliveryEventsFunctionEmailEvents"]
        self.assertEqual(subscription["Properties"]["TopicArn"], {"Ref": "DeliveryEventsTopic"})
        for event, group in (("SmsDelivered", "SmsDeliveryLogGroup"), ("SmsFailed", "SmsFailureLogGroup")):
            sub = self.resources[f"DeliveryEventsFunction{event}"]
            self.assertEqual(sub["Type"], "AWS::Logs::SubscriptionFilter")
            self.assertEqual(sub["Properties"]["LogGroupName"], {"Ref": group})
        names = [self.resources[g]["Properties"]["LogGroupName"]["Fn::Sub"] for g in ("SmsDeliveryLogGroup", "SmsFailureLogGroup")]
        self.assertEqual(
            names,
            [
                "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber",
                "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber/Failure",
            ],
        )

    def test_no_wildcard_actions(self) -> None:
        for name, resource in self.resources.items():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    for action in actions:
                        self.assertNotIn("*", action, f"{name}: {action}")


    # ------------------------------------------------------------ alarms (docs/deploy.md, Alarms)

    def alarms(self) -> dict[str, dict]:
        return {n: r["Properties"] for n, r in self.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}

    @staticmethod
    def watched(alarm: dict) -> list[tuple[str, str, str]]:
        """(namespace, metric, statistic) of an alarm, metric math included."""
        if "MetricName" in alarm:
            return [(json.dumps(alarm["Namespace"]), alarm["MetricName"], alarm["Statistic"])]
        return [
            (json.dumps(m["MetricStat"]["Metric"]["Namespace"]), m["MetricStat"]["Metric"]["MetricName"], m["MetricStat"]["Stat"])
            for m in alarm["Metrics"]
            if "MetricStat" in m
        ]

    def test_alarms_watch_the_metrics_aws_documents(self) -> None:
        watched = {(ns, metric, stat) for a in self.alarms().values() for ns, metric, stat in self.watched(a)}
        for expected in (
            ('"AWS/Lambda"', "Throttles", "Sum"),
            ('"AWS/SES"', "Reputation.BounceRate", "Maximum"),
            ('"AWS/SES"', "Reputation.ComplaintRate", "Maximum"),
            # Month-to-date running totals: Maximum (a Sum would add the total to itself).
            ('"AWS/SMSVoice"', "TextMessageMonthlySpend", "Maximum"),
            ('"AWS/SNS"', "SMSMonthToDateSpentUSD", "Maximum"),
        ):
            self.assertIn(expected, watched)
        throttled = self.alarms()["FunctionThrottlesAlarm"]["Metrics"]
        functions = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for m in throttled if "MetricStat" in m}
        self.assertEqual(functions, {"WebFunction", "InboundSmsFunction", "FanOutFunction"})

    def test_reputation_thresholds_are_the_ones_ses_reviews_at(self) -> None:
        # The metrics are fractions: 5 % bounces, 0.1 % complaints (docs/deploy.md cites SES).
        self.assertEqual(self.alarms()["SesBounceRateAlarm"]["Threshold"], 0.05)
        self.assertEqual(self.alarms()["SesComplaintRateAlarm"]["Threshold"], 0.001)

    def test_every_alarm_notifies_the_alarm_topic(self) -> None:
        for name, alarm in self.alarms().items():
            self.assertEqual(alarm["AlarmActions"], [{"Ref": "AlarmTopic"}], name)
            self.assertEqual(alarm["OKActions"], [{"Ref": "AlarmTopic"}], name)

    def test_metric_filters_count_log_lines_the_code_writes(self) -> None:
        root = TEMPLATE.parent
        # Where each log group's quoted lines are written: the fan-out's own handler, and the
        # use case the web function and inbound-sms share (app::budget).
        sources = {
            "FanOutFunctionLogGroup": (root / "functions" / "fan-out" / "src" / "handler.rs").read_text(),
            "WebFunctionLogGroup": (root / "shared" / "src" / "app" / "budget.rs").read_text(),
            "InboundSmsFunctionLogGroup": (root / "shared" / "src" / "app" / "budget.rs").read_text(),
        }
        filters = {n: r["Properties"] for n, r in self.resources.items() if r["Type"] == "AWS::Logs::MetricFilter"}
        metrics = {f["MetricTransformations"][0]["MetricName"] for f in filters.values()}
        self.assertEqual(metrics, {"SendsThrottled", "SendsRejected", "SmsDailyCeilingPercent"})
        for name, f in filters.items():
            group = f["LogGroupName"]["Ref"]
            self.assertIn(group, sources, name)
            source = sources[group]
            messages = re.findall(r'\$\.fields\.message = "([^"]+)"', f["FilterPattern"])
            self.assertEqual(len(messages), 1, name)
            # tracing's JSON lines carry the message under fields.message; the line must exist.
            self.assertIn(f'"{messages[0]}")', source, f"{name}: no log line {messages[0]!r} in {group}'s code")
            value = f["MetricTransformations"][0]["MetricValue"]
            if value.startswith("$.fields."):
                field = value.removeprefix("$.fields.")
                self.assertIn(f"{field} =", source, f"{name}: the log line has no field {field}")
            for regex in re.findall(r"%([^%]*)%", f["FilterPattern"]):
                # CloudWatch Logs regex: letters, digits and a few operators; no spaces, no ( ).
                self.assertRegex(regex, r"^[A-Za-z0-9|_#=@/;,\-^$?\[\]{}\\*+.]+$", name)
        for metric in metrics:
            self.assertTrue(any(("MetricName" in a and a["MetricName"] == metric) for a in self.alarms().values()), metric)

    def test_the_deploy_guide_lists_every_alarm(self) -> None:
        guide = (TEMPLATE.parent / "docs" / "deploy.md").read_text()
        for name in self.alarms():
            self.assertIn(f"`{name}`", guide, f"docs/deploy.md does not explain {name}")


class BrokenTemplates(unittest.TestCase):
    def assert_fails(self, old: str, new: str, expected: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            failures, _ = check_template.check(broken_copy(tmp, old, new))
        self.assertTrue(failures, f"replacing {old!r} with {new!r} should fail the check")
        self.assertTrue(any(expected in f for f in failures), f"no failure mentions {expected!r}: {failures}")

    def test_the_broken_fixtures_the_rust_reading_refuses_fail_here_too(self) -> None:
        # infra/tests/fixtures/broken.json is shared with infra/src/template/mod.rs: each broken
        # template must fail both readings of the table and stream-event contract.
        cases = json.loads((Path(__file__).resolve().parent / "tests" / "fixtures" / "broken.json").read_text())
        self.assertGreaterEqual(len(cases), 4)
        for case in cases:
            with self.subTest(case["name"]):
                self.assert_fails(case["old"], case["new"], case["python"])

    def test_bad_function_response_type_inside_events_fails(self) -> None:
        # cfn-lint alone does not look inside SAM Events; the transformed template catches it.
        self.assert_fails("FunctionResponseTypes: [ReportBatchItemFailures]", "FunctionResponseTypes: [Nope]", "Nope")

    def test_wrong_getattr_inside_events_fails(self) -> None:
        self.assert_fails("Stream: !GetAtt AlertsTable.StreamArn", "Stream: !GetAtt AlertsTable.StreamUrl", "StreamUrl")

    def test_circular_dependency_fails(self) -> None:
        # The web function's environment must not depend on anything that depends on it.
        self.assert_fails(
            "      Timeout: 29\n",
            "      Timeout: 29\n      Environment:\n        Variables:\n          ROUTE: !Ref HttpApiDefaultRoute\n",
            "Circular",
        )

    def test_table_name_breaks_the_contract(self) -> None:
        self.assert_fails(
            "    Properties:\n      AttributeDefinitions:\n        - AttributeName: pk\n          AttributeType: S\n        - AttributeName: sk\n          AttributeType: S\n        - AttributeName: phone_key",
            "    Properties:\n      TableName: members\n      AttributeDefinitions:\n        - AttributeName: pk\n          AttributeType: S\n        - AttributeName: sk\n          AttributeType: S\n        - AttributeName: phone_key",
            "TableName",
        )


if __name__ == "__main__":
    unittest.main()
