"""`make run`: DynamoDB Local (unless an endpoint is set), the table, and the API on loopback.

If the DynamoDB Local it started dies, the API stops too, with one line saying what happened:
an API that answers 503 forever with nothing on the console helps nobody.
"""

from __future__ import annotations

import signal
import sys
import threading
import warnings

from botocore.exceptions import BotoCoreError, ClientError

from devtools.dynamodb_local import DynamoDBLocal, DynamoDBLocalError, create_table, port_is_taken
from devtools.environment import (
    SettingError,
    dynamodb_endpoint,
    integer_setting,
    use_default_table_name,
)
from devtools.local_server import LocalApiServer
from handlers.routes import API_ROUTES
from resource_registry.clients import dynamodb_client, table_name
from resource_registry.dynamodb import describe_botocore_error

DEFAULT_PORT = 3000
WATCH_INTERVAL_SECONDS = 1.0


def stop_on_terminate(_signal: int, _frame: object) -> None:
    """Treat SIGTERM like Ctrl-C, so `kill` also stops the DynamoDB Local this run started."""
    raise KeyboardInterrupt


class ChildWatch:
    """Stops ``server`` when ``local`` exits, remembering why."""

    def __init__(self, local: DynamoDBLocal, server: LocalApiServer) -> None:
        self.local, self.server = local, server
        self.report: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="watch", daemon=True)

    def __enter__(self) -> ChildWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL_SECONDS):
            if (report := self.local.exit_report()) is not None:
                self.report = report
                self.server.shutdown()
                return


def serve(server: LocalApiServer, started: DynamoDBLocal | None) -> int:
    """Serve until Ctrl-C (0) or until the DynamoDB Local this run started dies (1)."""
    if started is None:
        server.serve_forever()
        return 0
    with ChildWatch(started, server) as watch:
        server.serve_forever()
    if watch.report is None:
        return 0
    print(
        f"error: {watch.report}; the API stopped with it. Run make run again to restart both",
        file=sys.stderr,
    )
    return 1


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_terminate)
    use_default_table_name()
    # A request that records no metric is normal here; Powertools warns about it on every one.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    try:
        port = integer_setting("PORT", DEFAULT_PORT, 1, 65535)
        if port_is_taken(port):
            raise SettingError(f"port {port} is taken: stop what uses it or set PORT")
        with dynamodb_endpoint() as endpoint:
            created = create_table(dynamodb_client(), table_name())
            server = LocalApiServer(port)
            print(
                f"DynamoDB: {endpoint.url}, table {table_name()} "
                f"({'created' if created else 'found'})"
            )
            print(f"API: {server.url}  (Ctrl-C stops it)")
            for route in API_ROUTES:
                print(f"  {route.method:6} {server.url}{route.path}")
            try:
                return serve(server, endpoint.started)
            except KeyboardInterrupt:
                print("\nstopping")
                return 0
            finally:
                server.server_close()
    except (DynamoDBLocalError, SettingError) as error:
        print(f"error: {error}", file=sys.stderr)
    except BotoCoreError as error:
        print(f"error: {describe_botocore_error(error)}", file=sys.stderr)
    except ClientError as error:
        print(f"error: DynamoDB refused: {error.response['Error'].get('Message')}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
