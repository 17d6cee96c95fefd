"""`make run`: DynamoDB Local (unless an endpoint is set), the table, the registry healer over its
stream, and the API on loopback.

A missing table is created as zae-limiter 0.17.0 creates it (TABLE_LAYOUT=flat or composite: as
0.6.0 or 0.9.1 do), with its stream and the namespaces default and prod; a table already there
keeps its layout. The healer writes each change event to .local/events.jsonl
(devtools/local_healer.py).

If the DynamoDB Local it started dies, the API stops too, with one line saying what happened:
an API that answers 503 forever with nothing on the console helps nobody.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from devtools.dynamodb_local import DynamoDBLocal, DynamoDBLocalError, port_is_taken
from devtools.environment import (
    SettingError,
    dynamodb_endpoint,
    integer_setting,
    table_layout_setting,
    use_default_table_name,
)
from devtools.layout_tables import RELEASES, create_zae_limiter_table
from devtools.local_server import LocalApiServer
from handlers.routes import API_ROUTES
from resource_registry.clients import table_name
from resource_registry.detection import LAYOUT_VARIABLE, detect_table
from resource_registry.dynamodb import describe_botocore_error
from resource_registry.errors import RegistryError

DEFAULT_PORT = 3000
# A new table is what people starting with zae-limiter today get.
DEFAULT_LAYOUT = "namespaced"
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


def table_admin_client() -> Any:
    """A DynamoDB client for creating the table: the functions' client gives up on a call
    after 2 s, and a CreateTable with zae-limiter's nine indexes can take longer than that on
    a busy laptop's DynamoDB Local."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    config = Config(retries={"mode": "standard", "max_attempts": 3}, read_timeout=60)
    return boto3.client("dynamodb", region_name=region, config=config)


def prepare_table(client: Any, name: str, wanted: str | None) -> str:
    """Create table ``name`` when it is missing, as zae-limiter's release of the ``wanted``
    layout (default: namespaced, 0.17.0) would; else leave it as it is. What was done, for the
    console. SettingError when ``wanted`` is not the layout of the table already there."""
    try:
        client.describe_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        layout = wanted or DEFAULT_LAYOUT
        namespaces = create_zae_limiter_table(client, name, layout)
        registered = f", namespaces {', '.join(namespaces)}" if namespaces else ""
        return (
            f"table {name} created as zae-limiter {RELEASES[layout]}'s create_table makes it "
            f"({layout} layout{registered})"
        )
    found = detect_table(client, name, None).layout.name
    if wanted is not None and wanted != found:
        raise SettingError(
            f"{LAYOUT_VARIABLE}={wanted} chooses the layout of a new table, but table {name} "
            f"exists with the {found} layout: unset {LAYOUT_VARIABLE}, or set TABLE_NAME to a new "
            "table (or delete the local data with make clean-data)"
        )
    return f"table {name} found ({found} layout)"


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_terminate)
    # A request that records no metric is normal here; Powertools warns about it on every one.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
    try:
        # Every setting is checked before anything starts.
        use_default_table_name()
        layout = table_layout_setting()
        port = integer_setting("PORT", DEFAULT_PORT, 1, 65535)
        if port_is_taken(port):
            raise SettingError(f"port {port} is taken: stop what uses it or set PORT")
        with dynamodb_endpoint() as endpoint:
            admin = table_admin_client()
            table = prepare_table(admin, table_name(), layout)
            server = LocalApiServer(port)
            print(f"DynamoDB: {endpoint.url}, {table}")
            # Imported once the settings are known good: Powertools' tracer, which the healer's
            # module loads, makes an X-Ray client at import and would fail on a bad AWS_PROFILE
            # with a traceback rather than the line above.
            from devtools.local_healer import LocalHealer

            healer, healing = LocalHealer.start(admin, table_name(), sys.stdout)
            print(healing)
            print(f"API: {server.url}  (Ctrl-C stops it)")
            for route in API_ROUTES:
                print(f"  {route.method:6} {server.url}{route.path}")
            try:
                return serve(server, endpoint.started)
            except KeyboardInterrupt:
                print("\nstopping")
                return 0
            finally:
                if healer is not None:
                    healer.stop()
                server.server_close()
    except (DynamoDBLocalError, SettingError, RegistryError) as error:
        print(f"error: {error}", file=sys.stderr)
    except BotoCoreError as error:
        print(f"error: {describe_botocore_error(error)}", file=sys.stderr)
    except ClientError as error:
        print(f"error: DynamoDB refused: {error.response['Error'].get('Message')}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
