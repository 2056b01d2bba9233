"""Programs added, rebuilt, removed and damaged while the server runs: tools follow, clients are told."""

from __future__ import annotations

import os
import shutil
import time

import anyio

from tests.integrations.mcp.conftest import Notifications, error_text, mcp_args, stdio_session, structured, tiny_program


def test_added_rebuilt_removed_programs_are_announced(tiny_programs, base_info, base_path, tmp_path) -> None:
    notes = Notifications()
    staging = tmp_path / "staging"
    staging.mkdir()

    async def scenario() -> None:
        async with stdio_session(*mcp_args(tiny_programs, None, "--no-preload"), message_handler=notes) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert "tiny-new" not in names

            # added (written elsewhere, then moved in: how an atomic writer lands a file)
            built = tiny_program(base_info, base_path, staging, "tiny-new", labels=("yes", "no"), spec="Is it a question?",
                                 examples=[{"input": "is it late?", "output": "yes"}, {"input": "it is late", "output": "no"}])
            os.replace(built, tiny_programs / "tiny-new.paw")
            await notes.wait_for(1)
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert tools["tiny-new"].output_schema["properties"]["label"]["enum"] == ["yes", "no"]
            assert structured(await session.call_tool("tiny-new", {"input": "are you there?"}))["label"] in ("yes", "no")

            # rebuilt with other labels: the schema follows
            rebuilt = tiny_program(base_info, base_path, staging, "tiny-new", labels=("question", "statement"),
                                   spec="Question or statement?", examples=[{"input": "why?", "output": "question"}])
            os.replace(rebuilt, tiny_programs / "tiny-new.paw")
            await notes.wait_for(2)
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert tools["tiny-new"].output_schema["properties"]["label"]["enum"] == ["question", "statement"]
            assert structured(await session.call_tool("tiny-new", {"input": "why not?"}))["label"] in ("question", "statement")

            # removed: gone from the list; a client with a stale list gets a clear error
            (tiny_programs / "tiny-new.paw").unlink()
            await notes.wait_for(3)
            assert "tiny-new" not in {t.name for t in (await session.list_tools()).tools}
            gone = error_text(await session.call_tool("run_program", {"name": "tiny-new", "input": "x"}))
            assert "no program named 'tiny-new'" in gone

            # the generic tools never changed: run_program still reaches every program
            assert structured(await session.call_tool("run_program", {"name": "tiny-mood", "input": "yay"}))["label"] in ("happy", "sad")

    anyio.run(scenario)


def test_program_damaged_on_disk_is_a_tool_error_and_the_server_keeps_serving(tiny_programs) -> None:
    notes = Notifications()

    async def scenario() -> None:
        async with stdio_session(*mcp_args(tiny_programs, None, "--no-watch"), message_handler=notes) as session:
            assert structured(await session.call_tool("tiny-alert", {"input": "Killed"}))["label"] in ("ALERT", "QUIET")
            path = tiny_programs / "tiny-alert.paw"
            good = path.read_bytes()
            # damage it in place (no rename, no file event: --no-watch) — the call itself must notice
            with path.open("r+b") as handle:
                handle.seek(len(good) // 2)
                handle.write(b"\0" * 64)
            damaged = error_text(await session.call_tool("tiny-alert", {"input": "Killed"}))
            assert "tiny-alert" in damaged and ("corrupt" in damaged or "sha256" in damaged or "not a valid" in damaged), damaged
            assert "recompile" in damaged or "damaged" in damaged or "corrupt" in damaged
            await notes.wait_for(1)  # the tool left the list, and the client was told
            status = structured(await session.call_tool("list_programs", {}))
            assert [u["path"] for u in status["unavailable"]] == [str(path)]
            assert "tiny-alert" not in {t.name for t in (await session.list_tools()).tools}
            # the rest keeps working
            assert structured(await session.call_tool("tiny-mood", {"input": "lovely"}))["label"] in ("happy", "sad")
            # truncated to nothing: still an error, not a crash
            path.write_bytes(b"")
            assert "tiny-alert" in error_text(await session.call_tool("run_program", {"name": "tiny-alert", "input": "x"}))
            # repaired: back in service
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(good)
            os.replace(tmp, path)
            time.sleep(0.01)
            assert structured(await session.call_tool("run_program", {"name": "tiny-alert", "input": "Killed"}))["label"] in ("ALERT", "QUIET")
            assert "tiny-alert" in {t.name for t in (await session.list_tools()).tools}

    anyio.run(scenario)


def test_shipped_programs_served_from_a_copied_folder(shipped_copy) -> None:
    """Shipped builds (LoRA adapters) served from another folder; removing one is seen on the next list."""

    async def scenario() -> None:
        async with stdio_session(*mcp_args(shipped_copy, None, "--no-watch", "--no-preload")) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert {"log-alert", "support-triage"} <= names
            shutil.move(str(shipped_copy / "support-triage.paw"), str(shipped_copy.parent / "moved.paw"))
            names = {t.name for t in (await session.list_tools()).tools}
            assert "support-triage" not in names and "log-alert" in names

    anyio.run(scenario)
