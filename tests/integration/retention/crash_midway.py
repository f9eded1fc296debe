"""Run as a process: purge in batches of 2 and die (no cleanup at all) after `kill_after` batches.

`python -m tests.integration.retention.crash_midway DATABASE_URL KILL_AFTER`
"""

import asyncio
import os
import sys

from governance.core.db import create_engine
from governance.retention import service


async def main(url: str, kill_after: int) -> None:
    engine = create_engine(url)
    batches = 0

    def die_after_some_batches(_name: str, _rows: int) -> None:
        nonlocal batches
        batches += 1
        if batches == kill_after:
            os._exit(9)  # like SIGKILL: no finally, no rollback, no lock release but the OS's

    await service.purge(engine, trigger="cli", actor="doomed", batch_size=2, progress=die_after_some_batches)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
