"""Running the service on a laptop: DynamoDB Local, the local API server, backfill runs."""
