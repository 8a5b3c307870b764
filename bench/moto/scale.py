"""moto_server for `make bench`: moto 5.2 without three costs that grow with the size of a table
(AWS has none of them), so that a community of 20,000 measures vigie rather than the emulator.
What is stored, streamed and answered is unchanged (bench/moto/test_scale.py checks it against
plain moto).

1. TransactWriteItems keeps its rollback copy by deep-copying the whole table once per item of
   the transaction: a 100-item claim on a ledger of 30,000 items copies 3 million items, and
   registering 2,000 members (one transaction each) takes the better part of an hour. Here the
   copy holds only the items the transaction names, and the length of each table's stream; a
   cancelled transaction puts them back. Transactions also run one at a time (as atomic as on
   AWS; plain moto's copies break under concurrent transactions).
2. A Query on a table's own key sorts every item of the table, keeps those of the partition,
   then walks them from the first to the page's ExclusiveStartKey: here it starts from the
   partition's items after that key (same order, same pages).
3. The access log line werkzeug writes for every request (under a lock): off.
4. To route each request, moto lists its own package directory (some 200 stat calls) under a
   global lock: the list is read once.

Used by vigie-bench unless it is given --plain-moto. Same arguments as moto_server.
"""

import copy as _copy
import logging
import sys
import threading

import moto.backends as moto_backends
import moto.dynamodb.models as ddb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table


class _NoTableCopies:
    """Stands for the `copy` module inside moto.dynamodb.models: tables are not copied."""

    def __getattr__(self, name):
        return getattr(_copy, name)

    @staticmethod
    def deepcopy(value, *args, **kwargs):
        if isinstance(value, Table):
            return value
        return _copy.deepcopy(value, *args, **kwargs)


class _Backup:
    """The items a transaction names, as they were before it, and each table's stream length."""

    def __init__(self, backend, transact_items):
        self.items = []  # (table, hash, range, item copy or None)
        self.streams = {}  # table name -> (table, stream length)
        for entry in transact_items:
            try:
                op_type, op = next(iter(entry.items()))
                table = backend.tables.get(op.get("TableName"))
                if table is None:
                    continue
                attrs = op["Item"] if op_type == "Put" else op["Key"]
                hash_value = DynamoType(attrs[table.hash_key_attr])
                range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, StopIteration, TypeError, AttributeError):
                continue  # moto itself rejects it before changing anything
            current = table.get_item(hash_value, range_value)
            self.items.append((table, hash_value, range_value, _copy.deepcopy(current)))
            if table.name not in self.streams and table.stream_shard is not None:
                self.streams[table.name] = (table, len(table.stream_shard.items))

    def restore(self):
        for table, hash_value, range_value, old in reversed(self.items):
            if range_value is not None:
                bucket = table.items[hash_value]
                if old is None:
                    bucket.pop(range_value, None)
                    if not bucket:
                        table.items.pop(hash_value, None)
                else:
                    bucket[range_value] = old
            elif old is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = old
        for table, length in self.streams.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]


_original = DynamoDBBackend.transact_write_items
_lock = threading.Lock()


def transact_write_items(self, transact_items):
    with _lock:
        backup = _Backup(self, transact_items)
        try:
            return _original(self, transact_items)
        except Exception:
            backup.restore()
            raise


_query = Table.query
_all_items = Table.all_items
_partition = threading.local()


def query(self, hash_key, *args, **kwargs):
    """A query on the table's own key reads its partition only (see all_items)."""
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name or hash_key is None or getattr(_partition, "table", None) is not None:
        return _query(self, hash_key, *args, **kwargs)
    bucket = self.items.get(hash_key)
    if bucket is None:
        items = []
    elif isinstance(bucket, dict):
        items = list(bucket.values())
    else:
        items = [bucket]
    start = args[3] if len(args) > 3 else kwargs.get("exclusive_start_key")
    forward = args[4] if len(args) > 4 else kwargs.get("scan_index_forward", True)
    if start and self.range_key_attr and self.range_key_attr in start:
        # The items the original would skip, one comparison at a time, to reach the start key.
        after = DynamoType(start[self.range_key_attr])
        if forward is False:
            items = [item for item in items if item.range_key < after]
        else:
            items = [item for item in items if item.range_key > after]
    _partition.table, _partition.items = self, items
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        _partition.table, _partition.items = None, None


def all_items(self):
    # Inside query() above, on this table: the partition's items (the query keeps only those).
    if getattr(_partition, "table", None) is self:
        return _partition.items
    return _all_items(self)


_modules = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _modules
ddb_models.copy = _NoTableCopies()
DynamoDBBackend.transact_write_items = transact_write_items
Table.query = query
Table.all_items = all_items
logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
