"""The resource registry domain: key schema, validation, the registry store and its errors.

This package is the shared Lambda layer. It talks to DynamoDB and knows nothing of HTTP.
"""
