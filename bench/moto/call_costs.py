"""What each kind of AWS call of the fan-out costs the emulator when it is alone (no concurrency):
the service time behind the fan-out's throughput ratio in docs/benchmarks.md.

    .venv/bin/python bench/moto/call_costs.py [--plain-moto] [--runs N]

Starts bench/moto/moto_server (or plain moto) on a free port, then times, one call at a time:
an SMS Publish, a raw SES v2 email, a 100-item TransactWriteItems of conditional puts (a claim),
a 25-item BatchWriteItem (a settlement) and a 100-item Query of a 2,000-item partition (a roster
page), and prints the median of each, per call and per item.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(fn, runs):
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--plain-moto", action="store_true")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    port = free_port()
    server = (
        [os.path.join(os.path.dirname(sys.executable), "moto_server")]
        if args.plain_moto
        else [sys.executable, os.path.join(HERE, "scale.py")]
    )
    proc = subprocess.Popen(server + ["-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        kw = dict(endpoint_url=endpoint, region_name="eu-west-3", aws_access_key_id="test", aws_secret_access_key="test")
        ddb = boto3.client("dynamodb", **kw)
        for _ in range(100):
            try:
                ddb.list_tables()
                break
            except Exception:
                time.sleep(0.1)
        for table in ("ledger", "members"):
            ddb.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
        sns = boto3.client("sns", **kw)
        ses = boto3.client("sesv2", **kw)
        ses.create_email_identity(EmailIdentity="example.org")
        member = lambda i: {
            "pk": {"S": "COMMUNITY#c"}, "sk": {"S": f"MEMBER#{i:06d}"}, "first_name": {"S": "Voisin"},
            "phone": {"S": "+33639980000"}, "email": {"S": f"v{i}@example.org"}, "sms_alerts": {"BOOL": True},
        }
        for start in range(0, 2000, 25):
            ddb.batch_write_item(RequestItems={"members": [{"PutRequest": {"Item": member(i)}} for i in range(start, start + 25)]})
        raw = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: Alerte\r\n\r\nUne alerte.\r\n"
        costs = {
            "Publish (1 SMS)": (1, timed(lambda i: sns.publish(PhoneNumber="+33639980001", Message="Marie : une alerte"), args.runs)),
            "SendEmail (1 raw email)": (1, timed(lambda i: ses.send_email(FromEmailAddress="a@example.org", Destination={"ToAddresses": ["b@example.org"]}, Content={"Raw": {"Data": raw}}), args.runs)),
            "TransactWriteItems (claim, 100 items)": (100, timed(lambda i: ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "ledger", "Item": {"pk": {"S": f"ALERT#{i}"}, "sk": {"S": f"D#{k:06d}#sms"}, "state": {"S": "claimed"}, "until": {"N": "1"}},
                         "ConditionExpression": "attribute_not_exists(pk)"}} for k in range(100)]), args.runs)),
            "BatchWriteItem (settle, 25 items)": (25, timed(lambda i: ddb.batch_write_item(RequestItems={"ledger": [
                {"PutRequest": {"Item": {"pk": {"S": f"ALERT#{i}"}, "sk": {"S": f"D#{k:06d}#sms"}, "state": {"S": "sent"}, "message_id": {"S": "m"}}}} for k in range(25)]}), args.runs)),
            "Query (roster page, 100 of 2,000)": (100, timed(lambda i: ddb.query(TableName="members", KeyConditionExpression="pk = :p AND begins_with(sk, :m)",
                ExpressionAttributeValues={":p": {"S": "COMMUNITY#c"}, ":m": {"S": "MEMBER#"}}, Limit=100,
                ExclusiveStartKey={"pk": {"S": "COMMUNITY#c"}, "sk": {"S": f"MEMBER#{(i * 37) % 1900:06d}"}}), args.runs)),
        }
        print(f"emulator: {'plain moto' if args.plain_moto else 'bench/moto/scale.py'}; median of {args.runs} calls made one at a time")
        print("| call | per call | per item |")
        print("|---|---|---|")
        for name, (items, ms) in costs.items():
            print(f"| {name} | {ms:.2f} ms | {ms / items:.3f} ms |")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
