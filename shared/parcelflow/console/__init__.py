"""`parcelflow`: the operators' console, a client of the operator API (docs/operator-api.md, docs/cli.md).

Unlike `python -m parcelflow.cli`, it never touches DynamoDB or the queues: every command is one or more
SigV4-signed HTTP requests to the API, so an operator needs only permission to invoke it."""
