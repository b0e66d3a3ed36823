"""A script's exit does not crash while Rust threads complete its last Python futures (without the package's
`atexit` wait, about one run in six of this script aborted or segfaulted on CPython 3.11 after its work was done:
PyO3/pyo3-async-runtimes#40)."""

import pathlib
import subprocess
import sys

SCRIPT = """
import asyncio, sys, finops

async def main() -> None:
    fo = finops.Finops(offline=True)
    s = finops.Statements(sys.argv[1])
    await asyncio.gather(*(fo.analyze(s, "Analyse la rentabilité") for _ in range(20)))
    pending = asyncio.ensure_future(fo.analyze(s, "Is our debt too high?"))
    await asyncio.sleep(0)
    pending.cancel()

asyncio.run(main())
print("done")
"""


def test_scripts_exit_cleanly_right_after_their_last_await(bistro_path: pathlib.Path) -> None:
    for run in range(20):
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(bistro_path)], capture_output=True, text=True, timeout=60
        )
        assert (result.returncode, result.stdout.strip()) == (0, "done"), (run, result.stderr[-2000:])
