"""bench/moto/moto_server stores, streams and answers exactly what plain moto does: transactions
(cancelled ones included) and queries, paged (make bench runs this first: a moto upgrade that
changes its internals shows here)."""

import os
import socket
import subprocess
import time
import unittest

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_BIN = os.path.join(HERE, "..", "..", ".venv", "bin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def queries(db):
    """Paged queries on a table's key (forward, backward, begins_with, projection) and on a GSI."""
    db.create_table(
        TableName="q",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByG",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for pk in ("p", "o", "z"):
        for i in range(60):
            prefix = "MEMBER#" if i % 3 else "META#"
            item = {"pk": {"S": pk}, "sk": {"S": f"{prefix}{(i * 37) % 61:03}"}, "n": {"N": str(i)}}
            if i % 2:
                item["g"] = {"S": f"g{i % 4}"}
            db.put_item(TableName="q", Item=item)
    answers = []
    for kwargs in (
        dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}, Limit=7),
        dict(
            KeyConditionExpression="pk = :p AND begins_with(sk, :m)",
            ExpressionAttributeValues={":p": {"S": "o"}, ":m": {"S": "MEMBER#"}},
            Limit=9,
            ScanIndexForward=False,
            ProjectionExpression="sk, n",
        ),
        dict(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "nobody"}}),
        dict(IndexName="ByG", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "g1"}}, Limit=5),
    ):
        pages, start = [], None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            out = db.query(TableName="q", **kwargs, **extra)
            pages.append([sorted((k, str(v)) for k, v in item.items()) for item in out["Items"]])
            start = out.get("LastEvaluatedKey")
            if not start or len(pages) > 100:
                break
        answers.append(pages)
    return answers


def scenario(server):
    """Runs the same transactions on a fresh server; returns everything observable."""
    port = free_port()
    proc = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        kw = dict(
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="eu-west-3",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        db, streams = boto3.client("dynamodb", **kw), boto3.client("dynamodbstreams", **kw)
        db.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        db.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"N": "1"}})
        db.put_item(TableName="t", Item={"pk": {"S": "x"}, "sk": {"S": "1"}})

        def put(pk, condition=None):
            op = {"TableName": "t", "Item": {"pk": {"S": pk}, "sk": {"S": "1"}, "v": {"N": "2"}}}
            if condition:
                op["ConditionExpression"] = condition
            return {"Put": op}

        update = {
            "Update": {
                "TableName": "t",
                "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                "UpdateExpression": "SET v = v + :five",
                "ExpressionAttributeValues": {":five": {"N": "5"}},
            }
        }
        seen = []

        def items():
            return sorted(
                (i["pk"]["S"], i["sk"]["S"], i.get("v", {}).get("N")) for i in db.scan(TableName="t")["Items"]
            )

        try:
            db.transact_write_items(TransactItems=[update, put("b"), put("x", "attribute_not_exists(pk)")])
            seen.append("committed")
        except db.exceptions.TransactionCanceledException as e:
            seen.append([r["Code"] for r in e.response["CancellationReasons"]])
        seen.append(items())
        db.transact_write_items(TransactItems=[update, put("b")])
        seen.append(items())
        arn = db.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
        seen.append([(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records])
        seen.extend(queries(db))
        return seen
    finally:
        proc.kill()
        proc.wait()


class Scale(unittest.TestCase):
    def test_same_items_streams_and_pages_as_plain_moto(self):
        plain = scenario(os.path.join(VENV_BIN, "moto_server"))
        fast = scenario(os.path.join(HERE, "moto_server"))
        self.assertEqual(plain[0], ["None", "None", "ConditionalCheckFailed"], "the first transaction is cancelled")
        self.assertEqual(plain[1], [("a", "1", "1"), ("x", "1", None)], "and leaves nothing behind")
        self.assertGreater(len(plain[4]), 5, "the first query takes several pages")
        self.assertEqual(plain[6], [[]], "no such partition: one empty page")
        self.assertEqual(fast, plain)


if __name__ == "__main__":
    unittest.main()
