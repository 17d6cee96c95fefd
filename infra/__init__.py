"""The resource registry service's CDK stack: constructs for the table, functions and API."""
