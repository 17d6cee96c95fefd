"""`make run`: DynamoDB Local (unless an endpoint is set), the table, and the API on loopback."""

from __future__ import annotations

import os
import signal
import sys

from devtools.dynamodb_local import DynamoDBLocalError, create_table, port_is_taken
from devtools.environment import dynamodb_endpoint, use_default_table_name
from devtools.local_server import LocalApiServer
from handlers.routes import API_ROUTES
from resource_registry.clients import dynamodb_client, table_name

DEFAULT_PORT = 3000


def stop_on_terminate(_signal: int, _frame: object) -> None:
    """Treat SIGTERM like Ctrl-C, so `kill` also stops the DynamoDB Local this run started."""
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_terminate)
    use_default_table_name()
    port = int(os.environ.get("PORT", DEFAULT_PORT))
    if port_is_taken(port):
        print(f"error: port {port} is taken: stop what uses it or set PORT", file=sys.stderr)
        return 1
    try:
        with dynamodb_endpoint() as endpoint:
            created = create_table(dynamodb_client(), table_name())
            server = LocalApiServer(port)
            print(
                f"DynamoDB: {endpoint}, table {table_name()} ({'created' if created else 'found'})"
            )
            print(f"API: {server.url}  (Ctrl-C stops it)")
            for route in API_ROUTES:
                print(f"  {route.method:6} {server.url}{route.path}")
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                print("\nstopping")
            finally:
                server.server_close()
    except DynamoDBLocalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
