"""The service's benchmarks (`make bench`): cost, round trips, latency and cold starts.

Every figure is measured next to its baseline in the same run, against a DynamoDB Local that the
run starts and stops itself; the table goes to stdout and to docs/BENCHMARKS.md.
"""
