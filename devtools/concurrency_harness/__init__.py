"""A concurrency harness: writers drive the API handlers on a small pool of resources while
backfill and prune run, and checkpoints check the table while it is quiescent.

Each writer is a process of its own, as each Lambda execution environment is: Powertools keeps the
event being resolved in class attributes, so one process runs one invocation at a time. Every
write's limits encode its writer and a per-write nonce, so a mix of two writes is detectable. At
each checkpoint the writers and reconcilers drain, and the full table must show: the registry
equals the resources with limit items; each resource's limits are exactly one write's set, at the
version that write was answered with. Every answer must be a 2xx or a documented 4xx/409/412/503.

`make bench` runs it (benchmarks/concurrency.py); by hand:
`python -m devtools.concurrency_harness --seconds 60`. Uses AWS_ENDPOINT_URL_DYNAMODB (with a
fresh table, deleted afterwards) or starts an in-memory DynamoDB Local. Exits 1 when it finds a
violation.

One module per job: `config` (how long and how hard), `fresh_table` (the run's table), `gate`
(draining for a checkpoint), `invocation` (a handler called as Lambda would), `tags` (limits that
name their write), `writers` (the writer processes), `transactions` (what their client did),
`invariants` (what a checkpoint checks), `run` (the run itself), `report` and `__main__` (the
command).
"""
