"""Run the TUI headless (Textual's Pilot) against a real checkpoint, for the TUI tests."""

from __future__ import annotations

import asyncio


async def wait_loaded(pilot) -> None:
    """The checkpoint loads in a worker thread: wait for it, then for the screen to settle."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def drive(app, script, size=(80, 24)):
    """Run ``await script(app, pilot)`` once ``app`` has loaded; return what it returns."""
    result = {}

    async def main():
        async with app.run_test(size=size) as pilot:
            await wait_loaded(pilot)
            result["value"] = await script(app, pilot)

    asyncio.run(main())
    return result.get("value")
