"""moto_server for vigie's tests and `make run`: moto 5.2 as it is, with one difference AWS would
not let us notice: each DynamoDB (and DynamoDB Streams) request runs whole before the next one.

Plain moto serves requests on several threads, and a TransactWriteItems that is cancelled puts
back a copy of each table it names taken when it began: whatever other requests wrote to those
tables in the meantime is lost (a settlement, a rate reservation, a cursor...). DynamoDB isolates
transactions from every other write (serializable isolation:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation),
so with several fan-out invocations at once (the event source mapping's ParallelizationFactor)
plain moto drops writes AWS would keep. One request at a time is stricter than DynamoDB, never
weaker; SNS and SES requests still run side by side. Same arguments as moto_server.
"""

import sys
import threading

from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.server import main

_lock = threading.RLock()


def _one_at_a_time(call_action):
    def locked(self, *args, **kwargs):
        with _lock:
            return call_action(self, *args, **kwargs)

    return locked


DynamoHandler.call_action = _one_at_a_time(DynamoHandler.call_action)
DynamoDBStreamsHandler.call_action = _one_at_a_time(DynamoDBStreamsHandler.call_action)

if __name__ == "__main__":
    sys.exit(main())
