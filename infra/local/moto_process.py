"""The embedded AWS (moto's server) in a process of its own: EmbeddedAws(moto_process=True) starts it.

    python -m infra.local.moto_process --invokes http://127.0.0.1:PORT [--port N]

One Python process holds one GIL: with moto's server, its Step Functions interpreter and the handlers in
the stack's process, the local pipeline could never use more than one core. Here moto serves every AWS API
from its own process, with the same hooks as in-process (lambda_dispatch installs them, with moto's Lambda
Invoke posted back to the stack's process, where the handlers run). It prints the port it listens on, one
line, and exits when its stdin closes (the stack stopped, or its process died).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from moto.server import ThreadedMotoServer

from infra.local.lambda_dispatch import LambdaDispatch, forward_invokes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local.moto_process")
    parser.add_argument("--invokes", required=True, help="the stack process's Invoke server (base URL)")
    parser.add_argument("--port", type=int, default=0, help="where moto listens (0: the OS chooses)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    LambdaDispatch().install(forward_invokes(args.invokes))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    # moto's Step Functions interpreter calls Lambda on localhost:$MOTO_PORT: this server.
    os.environ["MOTO_PORT"] = str(port)
    print(port, flush=True)
    sys.stdin.read()  # until the stack's process closes it (or dies)
    server.stop()
    # Step Functions executions still running have threads of their own: they end with the process.
    os._exit(0)


if __name__ == "__main__":
    main()
