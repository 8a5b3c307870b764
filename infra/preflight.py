#!/usr/bin/env python3
"""vigie preflight: what a deploy to this AWS account still needs, checked without changing anything.

    make preflight
    make preflight PREFLIGHT_ARGS="--profile mairie --members 800"
    .venv/bin/python infra/preflight.py --help

It reads the stack's parameters (template.yaml's defaults, then samconfig.toml's
`parameter_overrides`, then the deployed stack's, then `--param`), asks AWS about the email
sender (SES), the shared number and the sender of alerts (AWS End User Messaging SMS), the spend
limits, the Lambda quota and the alarms, and prints one line per check: ok, missing (with what to
do and where docs/deploy.md explains it) or cannot check (with why).

It only ever calls Describe*, Get* and List* operations (a hook refuses anything else before it
leaves the machine), so it is safe to run with any credentials, as often as you like. It needs
read permissions only; a permission it lacks is reported as a line of the checklist, not an error.

Exit status: 0 when nothing is missing, 1 when something is missing, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
DOC = "docs/deploy.md"
DEFAULT_REGION = "eu-west-3"
# Operations a read-only tool may call: the prefixes of AWS's read APIs.
READ_ONLY_PREFIXES = ("Describe", "Get", "List")
# End User Messaging SMS identities created from this date on need a resource policy before SNS
# may send from them (AWS Messaging blog, "A Guide to the New Resource Policies for SMS
# Origination Identities": earlier ones were granted automatically).
RESOURCE_POLICY_SINCE = dt.datetime(2024, 9, 24, tzinfo=dt.timezone.utc)
# Assumptions, printed with the figures they lead to; each has an option.
DEFAULT_SMS_PRICE_USD = 0.08  # one SMS part to a French mobile (see --sms-price)
DEFAULT_MEMBERS = 500  # the biggest community (see --members)
DEFAULT_MIN_CONCURRENCY = 50  # Lambda executions the stack may need at once (see --min-concurrency)

OK, MISSING, CANNOT = "ok", "missing", "cannot check"


@dataclass
class Line:
    section: str
    status: str
    what: str
    todo: str = ""
    doc: str = ""


@dataclass
class Setting:
    value: str
    source: str


@dataclass
class Context:
    args: argparse.Namespace
    params: dict[str, Setting]
    emulator: bool
    clients: Callable[[str], Any]
    stack: dict[str, Any] | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    sms_attributes: dict[str, str] | None = None

    def param(self, *names: str) -> str:
        for name in names:
            if name in self.params and self.params[name].value.strip():
                return self.params[name].value.strip()
        return ""

    def number(self, name: str, default: float) -> float:
        try:
            return float(self.param(name) or default)
        except ValueError:
            return default

    def add(self, section: str, status: str, what: str, todo: str = "", anchor: str = "") -> None:
        self.lines.append(Line(section, status, what, todo, f"{DOC}#{anchor}" if anchor else ""))


class Unanswered(Exception):
    """A call AWS (or the emulator) did not answer; the message says why in plain words."""


# ---------------------------------------------------------------- parameters


def _template_defaults(path: Path) -> dict[str, str]:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(path.read_text(), Loader=Loader) or {}
    return {name: str(p["Default"]) for name, p in (template.get("Parameters") or {}).items() if "Default" in p}


def _samconfig(path: Path, env: str) -> tuple[dict[str, str], dict[str, str]]:
    """(parameter_overrides, global settings such as stack_name and region) of samconfig.toml."""
    if not path.is_file():
        return {}, {}
    config = tomllib.loads(path.read_text()).get(env) or {}
    settings: dict[str, str] = {}
    for command in ("global", "deploy"):
        settings.update({k: str(v) for k, v in ((config.get(command) or {}).get("parameters") or {}).items()})
    overrides = settings.get("parameter_overrides", "")
    pairs = overrides if isinstance(overrides, list) else shlex.split(overrides)
    return dict(p.split("=", 1) for p in pairs if "=" in p), settings


# ---------------------------------------------------------------- AWS calls


NOT_FOUND = ("NotFoundException", "ResourceNotFoundException", "NotFound")


def _calls(ctx: Context, service: str, operation: str, expected: tuple[str, ...] = NOT_FOUND, **kwargs: Any) -> dict[str, Any]:
    """One read-only call. An error whose code is `expected` (by default: not found) is raised as
    is for the check to read; every other failure becomes Unanswered, with a sentence a town's IT
    person can act on."""
    from botocore import xform_name
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    method = xform_name(operation)
    try:
        return getattr(ctx.clients(service), method)(**kwargs)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in expected:
            raise
        if "AccessDenied" in code or code in ("UnauthorizedOperation", "AuthorizationError", "Forbidden"):
            raise Unanswered(
                f"your credentials may not call {_iam_action(service, operation)}: ask your AWS administrator "
                "for read access (the preflight's policy is in docs/deploy.md)"
            ) from None
        if ctx.emulator and (status in (404, 500, 501) or code in ("404", "500", "NotImplemented", "InternalFailure")):
            raise Unanswered(f"cannot check against the emulator: it does not implement {service} {operation}") from None
        if code in ("InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch", "InvalidSignatureException"):
            raise Unanswered("AWS refused the credentials (unknown or expired): sign in again (aws sso login, aws configure)") from None
        message = e.response.get("Error", {}).get("Message", "")
        if message.lstrip().startswith("<") or len(message) > 300:  # an HTML or XML page, not a sentence
            message = "(no readable message)"
        raise Unanswered(f"AWS answered {code or status} to {service} {operation}: {message}".strip()) from None
    except NoCredentialsError:
        raise Unanswered("no AWS credentials found: run `aws configure` or `aws sso login`, or pass --profile") from None
    except EndpointConnectionError:
        where = "the emulator" if ctx.emulator else f"AWS ({service} in {ctx.args.region})"
        raise Unanswered(f"could not reach {where}: check the network and the region") from None
    except BotoCoreError as e:
        raise Unanswered(f"the AWS client failed: {e}") from None


def _iam_action(service: str, operation: str) -> str:
    prefix = {"sesv2": "ses", "pinpoint-sms-voice-v2": "sms-voice", "cloudformation": "cloudformation"}.get(service, service)
    return f"{prefix}:{operation}"


def _client_factory(args: argparse.Namespace, calls: list[tuple[str, str]]) -> Callable[[str], Any]:
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=args.profile, region_name=args.region)

    def refuse_writes(model: Any, **_: Any) -> None:
        calls.append((model.service_model.service_name, model.name))
        if not model.name.startswith(READ_ONLY_PREFIXES):
            raise RuntimeError(f"preflight refused to call {model.name}: it only reads")

    session.events.register("before-call", refuse_writes)
    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=15)
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, endpoint_url=args.endpoint_url, config=config)
        return cache[service]

    return client


def _paged(ctx: Context, service: str, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items, token = [], None
    for _ in range(50):  # 50 pages are far more than any town has
        page = _calls(ctx, service, operation, **kwargs, **({"NextToken": token} if token else {}))
        items += page.get(key, [])
        token = page.get("NextToken")
        if not token:
            break
    return items


def guarded(section: str) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    """A check whose unanswered call becomes one "cannot check" line instead of an error."""

    def wrap(check: Callable[[Context], None]) -> Callable[[Context], None]:
        def run(ctx: Context) -> None:
            try:
                check(ctx)
            except Unanswered as e:
                title = (check.__doc__ or check.__name__).strip().splitlines()[0]
                ctx.add(section, CANNOT, f"{title}: {e}")

        return run

    return wrap


# ---------------------------------------------------------------- account and stack

SECTION_ACCOUNT = "Account and stack"


@guarded(SECTION_ACCOUNT)
def check_account(ctx: Context) -> None:
    """the AWS account"""
    who = _calls(ctx, "sts", "GetCallerIdentity")
    ctx.add(SECTION_ACCOUNT, OK, f"signed in to account {who.get('Account')} as {who.get('Arn')}, region {ctx.args.region}")


@guarded(SECTION_ACCOUNT)
def check_stack(ctx: Context) -> None:
    """the stack"""
    from botocore.exceptions import ClientError

    try:
        stacks = _calls(ctx, "cloudformation", "DescribeStacks", expected=("ValidationError",), StackName=ctx.args.stack_name).get("Stacks", [])
    except ClientError as e:
        if "does not exist" not in str(e):
            raise Unanswered(f"CloudFormation answered: {e.response.get('Error', {}).get('Message', e)}") from None
        stacks = []
    if not stacks:
        ctx.add(
            SECTION_ACCOUNT,
            MISSING,
            f"stack {ctx.args.stack_name} is not deployed yet in {ctx.args.region} (normal before the first deploy; "
            "the lines that need its outputs say so)",
            "sam build && sam deploy, then run make preflight again",
            "6-build-and-deploy",
        )
        return
    ctx.stack = stacks[0]
    ctx.outputs = {o["OutputKey"]: o["OutputValue"] for o in ctx.stack.get("Outputs", [])}
    for p in ctx.stack.get("Parameters", []):
        if p["ParameterKey"] not in ctx.args.param_names:
            ctx.params[p["ParameterKey"]] = Setting(p.get("ParameterValue", ""), "the deployed stack")
    status = ctx.stack.get("StackStatus", "")
    good = status.endswith("_COMPLETE") and "ROLLBACK" not in status and "DELETE" not in status
    ctx.add(
        SECTION_ACCOUNT,
        OK if good else MISSING,
        f"stack {ctx.args.stack_name} is {status}",
        "" if good else "look at the stack's events in the CloudFormation console, fix, and deploy again",
        "6-build-and-deploy",
    )


def check_parameters(ctx: Context) -> None:
    for name, example in (("SenderEmail", "alertes@mairie-bellerive.fr"), ("SharedNumber", "38123")):
        value = ctx.param(name) if name != "SharedNumber" else ctx.param("SharedNumber", "SmsNumber")
        setting = ctx.params.get(name) or ctx.params.get("SmsNumber")
        source = setting.source if setting else ""
        if not value or value == "CHANGE-ME":
            ctx.add(
                SECTION_ACCOUNT,
                MISSING,
                f"parameter {name} is not set ("
                + (f"{'placeholder' if value else 'empty'} in {source}" if source else "given nowhere")
                + ")",
                f"give it in samconfig.toml's parameter_overrides or with --param {name}={example}",
                "parameters",
            )
        else:
            ctx.add(SECTION_ACCOUNT, OK, f"parameter {name} = {value} (from {source})")


# ---------------------------------------------------------------- email (SES)

SECTION_EMAIL = "Email (Amazon SES)"


def _identity(ctx: Context, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return _calls(ctx, "sesv2", "GetEmailIdentity", EmailIdentity=name)
    except ClientError:
        return None


def _verified(identity: dict[str, Any] | None) -> bool:
    # VerificationStatus is what the console and `get-email-identity` show; moto 5.2.5 says
    # SUCCESS there but never sets VerifiedForSendingStatus, so the status decides.
    return bool(identity) and identity.get("VerificationStatus", "SUCCESS" if identity.get("VerifiedForSendingStatus") else "") == "SUCCESS"


@guarded(SECTION_EMAIL)
def check_email(ctx: Context) -> None:
    """the sender's SES identity"""
    sender = ctx.param("SenderEmail")
    if "@" not in sender:
        ctx.add(SECTION_EMAIL, CANNOT, "the sender's SES identity: SenderEmail is not set")
        return
    domain = sender.rsplit("@", 1)[1].lower()
    address, dom = _identity(ctx, sender), _identity(ctx, domain)
    if _verified(dom):
        ctx.add(SECTION_EMAIL, OK, f"domain {domain} is a verified SES identity in {ctx.args.region} (covers {sender})")
    elif _verified(address):
        ctx.add(SECTION_EMAIL, OK, f"address {sender} is a verified SES identity in {ctx.args.region}")
    else:
        pending = dom or address
        ctx.add(
            SECTION_EMAIL,
            MISSING,
            f"neither {domain} nor {sender} is a verified SES identity in {ctx.args.region}"
            + (f" ({(dom and domain) or sender} is {pending.get('VerificationStatus', 'pending')})" if pending else ""),
            f"aws sesv2 create-email-identity --email-identity {domain} --region {ctx.args.region}, publish the DKIM records it gives",
            "3-email-sender-domain-dkim-mail-from-dmarc",
        )
    dkim = (dom or {}).get("DkimAttributes") or {}
    if dom and dkim.get("Status") == "SUCCESS" and dkim.get("SigningEnabled"):
        ctx.add(SECTION_EMAIL, OK, f"DKIM signs mail from {domain}")
    else:
        ctx.add(
            SECTION_EMAIL,
            MISSING,
            f"DKIM for {domain}: "
            + (f"{dkim.get('Status', 'not started')}, signing {'on' if dkim.get('SigningEnabled') else 'off'}" if dom else "no domain identity"),
            "publish the three DKIM CNAME records of the domain identity; Gmail and Outlook want DKIM from bulk senders",
            "3-email-sender-domain-dkim-mail-from-dmarc",
        )
    mail_from = (dom or {}).get("MailFromAttributes") or {}
    if mail_from.get("MailFromDomainStatus") == "SUCCESS":
        ctx.add(SECTION_EMAIL, OK, f"custom MAIL FROM {mail_from.get('MailFromDomain')} is set up")
    else:
        ctx.add(
            SECTION_EMAIL,
            MISSING,
            f"custom MAIL FROM for {domain}: "
            + (f"{mail_from.get('MailFromDomain')} is {mail_from.get('MailFromDomainStatus')}" if mail_from else "not set"),
            f"aws sesv2 put-email-identity-mail-from-attributes --email-identity {domain} --mail-from-domain mail.{domain}, then its MX and SPF records",
            "3-email-sender-domain-dkim-mail-from-dmarc",
        )
    check_dmarc(ctx, domain)


def check_dmarc(ctx: Context, domain: str) -> None:
    """DMARC is a DNS record, not an AWS setting: read from DNS (dnspython), with --nameserver if given."""
    try:
        import dns.exception
        import dns.resolver
    except ImportError:
        ctx.add(SECTION_EMAIL, CANNOT, f"DMARC record of {domain}: dnspython is not installed (make venv)")
        return
    resolver = dns.resolver.Resolver(configure=not ctx.args.nameserver)
    if ctx.args.nameserver:
        host, _, port = ctx.args.nameserver.partition(":")
        resolver.nameservers, resolver.port = [host], int(port or 53)
    resolver.lifetime = 4.0
    try:
        answer = resolver.resolve(f"_dmarc.{domain}", "TXT")
        records = ["".join(part.decode() for part in r.strings) for r in answer]
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        records = []
    except (dns.exception.DNSException, OSError) as e:
        ctx.add(SECTION_EMAIL, CANNOT, f"DMARC record of {domain}: DNS did not answer ({type(e).__name__})")
        return
    dmarc = [r for r in records if r.lower().startswith("v=dmarc1")]
    if dmarc:
        policy = re.search(r"\bp=(\w+)", dmarc[0])
        ctx.add(SECTION_EMAIL, OK, f"DMARC record of {domain}: {dmarc[0]} (policy {policy.group(1) if policy else 'missing'})")
    else:
        ctx.add(
            SECTION_EMAIL,
            MISSING,
            f"no DMARC record at _dmarc.{domain}",
            f'publish a TXT record _dmarc.{domain} "v=DMARC1; p=none; rua=mailto:dmarc@{domain}" (Gmail and Outlook require one from bulk senders)',
            "3-email-sender-domain-dkim-mail-from-dmarc",
        )


@guarded(SECTION_EMAIL)
def check_ses_account(ctx: Context) -> None:
    """SES production access and sending quota"""
    account = _calls(ctx, "sesv2", "GetAccount")
    if account.get("ProductionAccessEnabled"):
        ctx.add(SECTION_EMAIL, OK, "the SES account is out of the sandbox (production access)")
    else:
        ctx.add(
            SECTION_EMAIL,
            MISSING,
            "the SES account is in the sandbox: mail only to verified addresses, 200 a day, 1 a second",
            "request production access (takes about a day); meanwhile deploy with EmailsPerSecond=1",
            "1-what-takes-weeks-ask-first",
        )
    if not account.get("SendingEnabled", True) or account.get("EnforcementStatus", "HEALTHY") not in ("HEALTHY", ""):
        ctx.add(
            SECTION_EMAIL,
            MISSING,
            f"SES sending is {'paused' if not account.get('SendingEnabled', True) else 'enabled'}, enforcement status {account.get('EnforcementStatus')}",
            "read the reputation page of the SES console and AWS's mail about it",
            "alarms",
        )
    quota = account.get("SendQuota") or {}
    wanted = ctx.number("EmailsPerSecond", 14)
    rate = float(quota.get("MaxSendRate", 0))
    members = ctx.args.members
    if wanted > rate:
        ctx.add(
            SECTION_EMAIL,
            MISSING,
            f"EmailsPerSecond is {wanted:g} but this account may send {rate:g} emails a second",
            f"deploy with EmailsPerSecond={int(rate) if rate >= 1 else 1}, or ask AWS for a higher sending rate",
            "parameters",
        )
    else:
        ctx.add(SECTION_EMAIL, OK, f"sending rate {rate:g}/s covers EmailsPerSecond={wanted:g}")
    day = float(quota.get("Max24HourSend", 0))
    if day < members:
        ctx.add(
            SECTION_EMAIL,
            MISSING,
            f"this account may send {day:g} emails a day, fewer than one alert to a community of {members} members",
            "request production access or a higher daily quota",
            "1-what-takes-weeks-ask-first",
        )


# ---------------------------------------------------------------- SMS (End User Messaging)

SECTION_SMS = "SMS (AWS End User Messaging SMS)"


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def french_number_problem(number: str) -> str:
    """Why a French number cannot be vigie's shared number, or "" (ARCEP decision 2022-1583)."""
    digits = _digits(number)
    if number.startswith("+33") and digits[2:3] in ("6", "7"):
        return (
            f"{number} is a French 06/07 mobile number: since 1 January 2023 (ARCEP decision 2022-1583) "
            "automated SMS may not come from one and operators block them; use a short code (38xxx)"
        )
    return ""


def find_identity(ctx: Context, value: str) -> dict[str, Any] | None:
    """The End User Messaging identity a parameter names: a phone number (E.164 or short code),
    a phone number id, a pool id, a sender ID, or the ARN of any. None when the account has none."""
    from botocore.exceptions import ClientError

    value = value.strip()
    kind = "pool" if value.startswith("pool-") or ":pool/" in value else "phone" if value.startswith("phone-") or ":phone-number/" in value else ""
    if kind == "pool":
        try:
            pools = _calls(ctx, "pinpoint-sms-voice-v2", "DescribePools", PoolIds=[value]).get("Pools", [])
        except ClientError:
            return None
        return {"Kind": "pool", "Name": value, "Arn": pools[0]["PoolArn"], **pools[0]} if pools else None
    if kind == "phone" or re.fullmatch(r"\+?\d{3,15}", value):
        for number in _paged(ctx, "pinpoint-sms-voice-v2", "DescribePhoneNumbers", "PhoneNumbers"):
            if value in (number.get("PhoneNumberId"), number.get("PhoneNumberArn")) or (
                not kind and _digits(number.get("PhoneNumber", "")).endswith(_digits(value)) and len(_digits(value)) >= 3
                and (value.startswith("+") == number.get("PhoneNumber", "").startswith("+") or number.get("NumberType") == "SHORT_CODE")
            ):
                return {"Kind": "number", "Name": number.get("PhoneNumber", value), "Arn": number["PhoneNumberArn"], **number}
        return None
    for sender in _paged(ctx, "pinpoint-sms-voice-v2", "DescribeSenderIds", "SenderIds"):
        if value in (sender.get("SenderId"), sender.get("SenderIdArn")):
            return {"Kind": "sender ID", "Name": sender["SenderId"], "Arn": sender["SenderIdArn"], **sender}
    return None


def policy_lets_sns_send(policy: str | None, arn: str) -> bool:
    """Whether a resource policy allows the SNS service principal to send from `arn`."""
    try:
        document = json.loads(policy or "{}")
    except ValueError:
        return False
    statements = document.get("Statement", [])
    for s in statements if isinstance(statements, list) else [statements]:
        principal = (s.get("Principal") or {}) if isinstance(s.get("Principal"), dict) else {}
        services = principal.get("Service", [])
        services = services if isinstance(services, list) else [services]
        actions = s.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources = s.get("Resource", arn)
        resources = resources if isinstance(resources, list) else [resources]
        if (
            s.get("Effect") == "Allow"
            and "sns.amazonaws.com" in services
            and any(a in ("sms-voice:SendTextMessage", "sms-voice:*", "*") for a in actions)
            and any(r in (arn, "*") or (r.endswith("*") and arn.startswith(r[:-1])) for r in resources)
        ):
            return True
    return False


def _check_resource_policy(ctx: Context, identity: dict[str, Any], label: str) -> None:
    from botocore.exceptions import ClientError

    created = identity.get("CreatedTimestamp")
    try:
        policy = _calls(ctx, "pinpoint-sms-voice-v2", "GetResourcePolicy", ResourceArn=identity["Arn"]).get("Policy")
    except ClientError:
        policy = None
    if policy_lets_sns_send(policy, identity["Arn"]):
        ctx.add(SECTION_SMS, OK, f"{label}: its resource policy lets SNS send from it")
    elif isinstance(created, dt.datetime) and created < RESOURCE_POLICY_SINCE:
        ctx.add(SECTION_SMS, OK, f"{label}: created {created:%Y-%m-%d}, before 24 September 2024: SNS may send from it without a resource policy")
    else:
        ctx.add(
            SECTION_SMS,
            MISSING,
            f"{label}: no resource policy lets SNS (sns.amazonaws.com) send from it"
            + ("" if created else " (its creation date is unknown)"),
            "in the End User Messaging SMS console, the identity's Resource policy tab: choose the policy for Amazon SNS",
            "9-resource-policy-for-sns",
        )


@guarded(SECTION_SMS)
def check_sms_account(ctx: Context) -> None:
    """the End User Messaging SMS account"""
    attributes = _paged(ctx, "pinpoint-sms-voice-v2", "DescribeAccountAttributes", "AccountAttributes")
    tier = next((a.get("Value") for a in attributes if a.get("Name") == "ACCOUNT_TIER"), "")
    if tier == "PRODUCTION":
        ctx.add(SECTION_SMS, OK, "the SMS account is out of the sandbox (production)")
        return
    verified = [
        d.get("DestinationPhoneNumber", "")
        for d in _paged(ctx, "pinpoint-sms-voice-v2", "DescribeVerifiedDestinationNumbers", "VerifiedDestinationNumbers")
        if d.get("Status") == "VERIFIED"
    ]
    ctx.add(
        SECTION_SMS,
        MISSING,
        f"the SMS account is {tier.lower() or 'of unknown tier'}: texts go only to verified destination numbers"
        + (f" ({len(verified)} verified: {', '.join(mask_phone(n) for n in verified)})" if verified else " (none verified yet)"),
        "request production access for SMS (End User Messaging SMS console); meanwhile verify the testers' numbers (at most 10)",
        "4-while-in-the-sandboxes",
    )


def mask_phone(number: str) -> str:
    """A phone number as vigie's logs show it (PhoneNumber::masked): +336******78."""
    if not number.startswith("+") or len(number) < 6:
        return number
    digits = number[1:]
    return "+" + "".join(c if i < 3 or i + 2 >= len(digits) else "*" for i, c in enumerate(digits))


@guarded(SECTION_SMS)
def check_shared_number(ctx: Context) -> None:
    """the shared number"""
    value = ctx.param("SharedNumber", "SmsNumber")
    if not value or value == "CHANGE-ME":
        ctx.add(SECTION_SMS, CANNOT, "the shared number: SharedNumber is not set")
        return
    problem = french_number_problem(value)
    if problem:
        ctx.add(SECTION_SMS, MISSING, problem, "ask AWS Support for a French short code", "1-what-takes-weeks-ask-first")
    identity = find_identity(ctx, value)
    if identity is None:
        ctx.add(
            SECTION_SMS,
            MISSING,
            f"the shared number {value} is not an End User Messaging SMS identity of this account in {ctx.args.region}",
            "a French short code comes through an AWS Support case (several weeks): see step 1",
            "1-what-takes-weeks-ask-first",
        )
        return
    label = f"shared number {identity['Name']} ({identity.get('NumberType', identity['Kind']).lower().replace('_', ' ')})"
    status = identity.get("Status", "ACTIVE")
    ctx.add(
        SECTION_SMS,
        OK if status == "ACTIVE" else MISSING,
        f"{label} exists, {status.lower()}",
        "" if status == "ACTIVE" else "wait until AWS has provisioned it",
        "1-what-takes-weeks-ask-first",
    )
    if identity["Kind"] == "sender ID":
        ctx.add(SECTION_SMS, MISSING, f"{label} is a sender ID: sender IDs cannot receive texts", "use a short code", "2-sms-the-shared-number")
        return
    topic = ctx.outputs.get("InboundSmsTopicArn", "")
    if identity.get("TwoWayEnabled"):
        ctx.add(SECTION_SMS, OK, f"{label}: two-way SMS is on")
    else:
        ctx.add(SECTION_SMS, MISSING, f"{label}: two-way SMS is off: residents' texts go nowhere", "turn two-way on (step 8)", "8-point-the-shared-number-at-the-stack")
    channel = identity.get("TwoWayChannelArn", "")
    if not topic:
        ctx.add(SECTION_SMS, CANNOT, f"{label}: where its texts go: the stack's InboundSmsTopicArn is not known yet (deploy first)")
    elif channel == topic:
        ctx.add(SECTION_SMS, OK, f"{label}: its texts go to the stack's inbound topic")
    else:
        ctx.add(
            SECTION_SMS,
            MISSING,
            f"{label}: its texts go to {channel or 'nowhere'}, not to the stack's topic {topic}",
            "set its two-way channel to the InboundSmsTopicArn output (step 8)",
            "8-point-the-shared-number-at-the-stack",
        )
    if identity.get("SelfManagedOptOutsEnabled"):
        ctx.add(SECTION_SMS, OK, f"{label}: self-managed opt-outs are on (vigie answers STOP and START)")
    else:
        ctx.add(
            SECTION_SMS,
            MISSING,
            f"{label}: self-managed opt-outs are off: AWS answers STOP itself and a resident who texts STOP could never get alerts back",
            "turn self-managed opt-outs on (step 8)",
            "8-point-the-shared-number-at-the-stack",
        )
    _check_resource_policy(ctx, identity, label)
    wanted = ctx.number("SmsPartsPerSecond", 20)
    rate = ((identity.get("MessagingLimits") or {}).get("RateLimits") or {}).get("SMS")
    if rate is None:
        ctx.add(SECTION_SMS, CANNOT, f"{label}: its throughput: AWS did not give its messages per second; SmsPartsPerSecond is {wanted:g}")
    elif wanted > float(rate):
        ctx.add(
            SECTION_SMS,
            MISSING,
            f"{label} sends {float(rate):g} parts a second, SmsPartsPerSecond is {wanted:g}: AWS would throttle the excess",
            f"deploy with SmsPartsPerSecond={float(rate):g}, or ask AWS Support for more throughput",
            "parameters",
        )
    else:
        ctx.add(SECTION_SMS, OK, f"{label} sends {float(rate):g} parts a second, SmsPartsPerSecond is {wanted:g}")


@guarded(SECTION_SMS)
def check_alert_sender(ctx: Context) -> None:
    """the sender of alerts"""
    value = ctx.param("AlertSenderIdentity")
    shared = ctx.param("SharedNumber", "SmsNumber")
    if not value or value == shared:
        return
    identity = find_identity(ctx, value)
    if identity is None:
        ctx.add(
            SECTION_SMS,
            MISSING,
            f"AlertSenderIdentity {value} is not an End User Messaging SMS identity of this account in {ctx.args.region}",
            "request the sender ID (or pool, or number), or leave AlertSenderIdentity empty to send from the shared number",
            "2-sms-the-shared-number",
        )
        return
    label = f"alert sender {identity['Name']} ({identity['Kind']})"
    registered = identity.get("Registered")
    ctx.add(SECTION_SMS, OK, f"{label} exists" + ("" if registered is None else f", {'registered' if registered else 'not registered'}"))
    _check_resource_policy(ctx, identity, label)


# ---------------------------------------------------------------- spend limits

SECTION_SPEND = "Spend limits"


def alert_cost(ctx: Context) -> tuple[float, str]:
    parts = ctx.number("SmsMaxSegments", 3)
    cost = ctx.args.members * parts * ctx.args.sms_price
    return cost, (
        f"an alert to the biggest community ({ctx.args.members} members, --members) of up to {parts:g} parts "
        f"costs up to {cost:.2f} USD at {ctx.args.sms_price:g} USD a part (an assumption, --sms-price)"
    )


def _spend_line(ctx: Context, what: str, limit: float | None, todo: str) -> None:
    cost, assumption = alert_cost(ctx)
    if limit is None:
        ctx.add(SECTION_SPEND, MISSING, f"{what}: not set, so the account's default applies (1 USD a month for a new account); {assumption}", todo, "10-spend-limits")
    elif limit < cost:
        ctx.add(SECTION_SPEND, MISSING, f"{what}: {limit:g} USD a month, less than one alert: {assumption}", todo, "10-spend-limits")
    else:
        ctx.add(SECTION_SPEND, OK, f"{what}: {limit:g} USD a month, {int(limit // cost) if cost else 'any number of'} such alerts; {assumption}")


def _sms_attributes(ctx: Context) -> dict[str, str]:
    """The account's SNS SMS attributes, read once for every check that needs one. All of them,
    unfiltered: moto 5.2.5 answers a filter of two names with the first only."""
    if ctx.sms_attributes is None:
        ctx.sms_attributes = _calls(ctx, "sns", "GetSMSAttributes").get("attributes", {})
    return ctx.sms_attributes


@guarded(SECTION_SPEND)
def check_sns_spend(ctx: Context) -> None:
    """SNS's monthly SMS spend limit"""
    limit = _sms_attributes(ctx).get("MonthlySpendLimit")
    _spend_line(
        ctx,
        "SNS monthly SMS spend limit (MonthlySpendLimit)",
        float(limit) if limit not in (None, "") else None,
        "ask AWS for a higher SMS spend quota, then aws sns set-sms-attributes --attributes MonthlySpendLimit=<USD>",
    )


@guarded(SECTION_SPEND)
def check_sms_spend(ctx: Context) -> None:
    """End User Messaging's monthly SMS spend limit"""
    limits = _paged(ctx, "pinpoint-sms-voice-v2", "DescribeSpendLimits", "SpendLimits")
    text = next((s for s in limits if s.get("Name") == "TEXT_MESSAGE_MONTHLY_SPEND_LIMIT"), None)
    _spend_line(
        ctx,
        "End User Messaging SMS monthly spend limit",
        float(text["EnforcedLimit"]) if text and "EnforcedLimit" in text else None,
        "request a higher TextMessageMonthlySpend quota (Service Quotas), then set-text-message-spend-limit-override",
    )


@guarded(SECTION_SMS)
def check_sms_receipts(ctx: Context) -> None:
    """SNS's SMS delivery status logs (delivery receipts of texts)"""
    role = ctx.outputs.get("SmsDeliveryStatusRoleArn", "")
    if not role:
        ctx.add(SECTION_SMS, CANNOT, "SMS delivery receipts: the stack's SmsDeliveryStatusRoleArn is not known yet (deploy first)")
        return
    attributes = _sms_attributes(ctx)
    todo = (
        "aws sns set-sms-attributes --attributes "
        f"DeliveryStatusIAMRole={role},DeliveryStatusSuccessSamplingRate=100"
    )
    current = attributes.get("DeliveryStatusIAMRole", "")
    rate = attributes.get("DeliveryStatusSuccessSamplingRate", "")
    if current != role:
        ctx.add(
            SECTION_SMS,
            MISSING,
            "SMS delivery receipts are off: SNS writes no delivery logs with the stack's role "
            + (f"(DeliveryStatusIAMRole is {current})" if current else "(DeliveryStatusIAMRole is not set)")
            + ", so every text stays pending and dead numbers are never noticed",
            todo,
            "10-delivery-receipts",
        )
    elif rate != "100":
        ctx.add(
            SECTION_SMS,
            MISSING,
            f"SMS delivery receipts: only {rate or 0} % of delivered texts are logged (DeliveryStatusSuccessSamplingRate), "
            "so the others stay pending in the report",
            todo,
            "10-delivery-receipts",
        )
    else:
        ctx.add(SECTION_SMS, OK, "SMS delivery receipts: SNS logs every text's delivery with the stack's role")


# ---------------------------------------------------------------- Lambda and alarms

SECTION_RUN = "Lambda and alarms"


@guarded(SECTION_RUN)
def check_lambda(ctx: Context) -> None:
    """the Lambda concurrency quota"""
    limits = _calls(ctx, "lambda", "GetAccountSettings").get("AccountLimit") or {}
    total = int(limits.get("ConcurrentExecutions", 0))
    free = int(limits.get("UnreservedConcurrentExecutions", total))
    need = ctx.args.min_concurrency
    if free >= need:
        ctx.add(SECTION_RUN, OK, f"Lambda may run {free} functions at once (of {total}); the stack needs about {need} (--min-concurrency)")
    else:
        ctx.add(
            SECTION_RUN,
            MISSING,
            f"Lambda may run only {free} functions at once (of {total}); an alert with its replies needs about {need} (--min-concurrency)",
            "request a higher 'Concurrent executions' quota for Lambda in Service Quotas",
            "1-what-takes-weeks-ask-first",
        )


@guarded(SECTION_RUN)
def check_alarm_subscription(ctx: Context) -> None:
    """who receives the alarms"""
    topic = ctx.outputs.get("AlarmTopicArn", "")
    if not topic:
        ctx.add(SECTION_RUN, CANNOT, "who receives the alarms: the stack's AlarmTopicArn is not known yet (deploy first)")
        return
    subscriptions = _paged(ctx, "sns", "ListSubscriptionsByTopic", "Subscriptions", TopicArn=topic)
    confirmed = [s for s in subscriptions if s.get("SubscriptionArn", "").startswith("arn:")]
    if confirmed:
        ctx.add(SECTION_RUN, OK, "alarms reach " + ", ".join(f"{s.get('Protocol')} {_mask(s.get('Endpoint', ''))}" for s in confirmed))
    else:
        pending = len(subscriptions)
        ctx.add(
            SECTION_RUN,
            MISSING,
            "nobody receives the alarms" + (f" ({pending} subscription(s) waiting for confirmation)" if pending else ""),
            "deploy with AlarmEmail=<address> and click the link AWS mails to it",
            "11-alarms",
        )


def _mask(endpoint: str) -> str:
    """An email's local part masked, as vigie's logs do (Email::masked)."""
    if "@" in endpoint:
        local, domain = endpoint.split("@", 1)
        return f"{local[:1]}***@{domain}"
    return endpoint


# ---------------------------------------------------------------- the run

CHECKS: tuple[Callable[[Context], None], ...] = (
    check_account,
    check_stack,
    check_parameters,
    check_email,
    check_ses_account,
    check_sms_account,
    check_shared_number,
    check_alert_sender,
    check_sms_receipts,
    check_sns_spend,
    check_sms_spend,
    check_lambda,
    check_alarm_subscription,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("AWS_PROFILE") or None, help="AWS profile (default: the usual credential chain)")
    parser.add_argument("--region", help=f"AWS region (default: samconfig.toml's, else {DEFAULT_REGION})")
    parser.add_argument("--stack-name", help="CloudFormation stack (default: samconfig.toml's, else vigie)")
    parser.add_argument("--config", type=Path, default=ROOT / "samconfig.toml", help="SAM configuration file (default: samconfig.toml)")
    parser.add_argument("--config-env", default="default", help="environment in the SAM configuration file (default: default)")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml", help="the SAM template, for parameter defaults")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a stack parameter, over every other source (repeatable)")
    parser.add_argument("--members", type=int, default=DEFAULT_MEMBERS, help=f"members of the biggest community (default {DEFAULT_MEMBERS})")
    parser.add_argument("--sms-price", type=float, default=DEFAULT_SMS_PRICE_USD, help=f"assumed price of one SMS part, USD (default {DEFAULT_SMS_PRICE_USD})")
    parser.add_argument("--min-concurrency", type=int, default=DEFAULT_MIN_CONCURRENCY, help=f"Lambda executions the stack may need at once (default {DEFAULT_MIN_CONCURRENCY})")
    parser.add_argument("--endpoint-url", default=os.environ.get("PREFLIGHT_ENDPOINT_URL") or None, help="an AWS emulator's URL (tests)")
    parser.add_argument("--nameserver", metavar="HOST[:PORT]", help="DNS server for the DMARC look-up (default: the system's)")
    args = parser.parse_args(argv)
    for p in args.param:
        if "=" not in p:
            parser.error(f"--param wants NAME=VALUE, not {p!r}")
    return args


def preflight(argv: list[str] | None = None) -> tuple[list[Line], list[tuple[str, str]], argparse.Namespace]:
    """Runs every check. Returns the lines, the (service, operation) calls made, and the options."""
    args = parse_args(argv)
    overrides, settings = _samconfig(args.config, args.config_env)
    args.region = args.region or settings.get("region") or DEFAULT_REGION
    args.stack_name = args.stack_name or settings.get("stack_name") or "vigie"
    cli = dict(p.split("=", 1) for p in args.param)
    args.param_names = set(cli)
    params = {k: Setting(v, "template.yaml's default") for k, v in _template_defaults(args.template).items()} if args.template.is_file() else {}
    params.update({k: Setting(v, args.config.name) for k, v in overrides.items()})
    params.update({k: Setting(v, "--param") for k, v in cli.items()})
    calls: list[tuple[str, str]] = []
    ctx = Context(args, params, bool(args.endpoint_url), _client_factory(args, calls), calls=calls)
    for check in CHECKS:
        check(ctx)
        if check is check_account and ctx.lines and ctx.lines[-1].status == CANNOT:
            ctx.add(
                SECTION_ACCOUNT,
                MISSING,
                "nothing else can be checked without working credentials",
                "sign in (aws configure, aws sso login) or pass --profile, then run make preflight again",
                "prerequisites",
            )
            break
    return ctx.lines, calls, args


def render(lines: Iterable[Line], args: argparse.Namespace) -> str:
    out = [f"vigie preflight: stack {args.stack_name}, region {args.region}" + (f", emulator {args.endpoint_url}" if args.endpoint_url else ""), ""]
    section = None
    width = len(CANNOT) + 2
    lines = list(lines)
    for line in lines:
        if line.section != section:
            section = line.section
            out += ["", section] if len(out) > 2 else [section]
        out.append(f"  {('[' + line.status + ']').ljust(width + 1)} {line.what}")
        if line.todo:
            out.append(f"  {' ' * (width + 1)}   what to do: {line.todo}")
        if line.doc:
            out.append(f"  {' ' * (width + 1)}   see {line.doc}")
    counts = {s: sum(1 for line in lines if line.status == s) for s in (OK, MISSING, CANNOT)}
    out += ["", f"{counts[OK]} ok, {counts[MISSING]} missing, {counts[CANNOT]} cannot check."]
    if counts[MISSING]:
        out.append(f"Deal with the missing lines in the order of {DOC}, then run make preflight again.")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    try:
        lines, _, args = preflight(argv)
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) else 2
    except Exception as e:  # a bug of ours: one sentence, no trace
        print(f"preflight stopped: {type(e).__name__}: {e} (please report it; nothing was changed)", file=sys.stderr)
        return 2
    print(render(lines, args))
    return 1 if any(line.status == MISSING for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
