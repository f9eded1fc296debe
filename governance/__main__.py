"""`python -m governance ...`: the Litestar CLI bound to our app (database, users, api-keys, ...)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("LITESTAR_APP", "governance.asgi:app")
    from litestar.__main__ import run_cli

    run_cli()
    sys.exit(0)


if __name__ == "__main__":
    main()
