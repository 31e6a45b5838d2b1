"""Use cases, one module each, called by the Lambda handlers and by the CLI alike."""
