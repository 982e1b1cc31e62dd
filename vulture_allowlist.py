"""Names vulture (scripts/lint) cannot see used: read by a framework, a format or the tests, not by our code.

Each line says who reads the name. Anything not here that vulture reports is dead: delete it.
Syntax: vulture's whitelist (``_.attr`` stands for an attribute or method of any object).
"""

# ruff: noqa: B018, F821
from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# --- inspector/ ---
EXIT_FINDINGS  # cli.py: names exit code 1 beside EXIT_OK/EXIT_ERROR (commands return the bare 1)
_.inheritable  # checks/host/filecaps.py FileCaps: the xattr's third field, decoded so the record is whole
_.json_name  # codec/schema.py: a protobuf FieldDescriptorProto field we set; protobuf reads it
_.description  # commands/*: argparse reads ArgumentParser.description
_.help  # commands/preflight.py: argparse reads Action.help (SUPPRESS hides --host)
__getattr__  # diff/__init__.py: the module-level lazy-import hook (PEP 562)
_.writeable  # pages/pagemap.py: numpy's ndarray.flags.writeable, set to make the arrays view read-only
REMAP_GHOST  # repair/refs.py: CRIU's remap_type enum named in full beside REMAP_LINKED
REMAP_PROCFS
_.rcvbuf  # views/sockets.py: dataclass fields of the sockets view, printed by show --json (asdict)
_.sndbuf
_.members  # source.py: tarfile.TarFile.members, reset so a long archive is not held in memory

MAP_ANON  # model/names.py: CRIU constants benchmarks/bench_show.py builds scaled VMAs with
VMA_ANON_PRIVATE

# instrumentation the tests read to prove a path was (not) taken; no production reader by design
_.bytes_compared  # diff/pagediff.py: tests/diff/test_diff_fastpath.py, test_diff_identity.py
_.bytes_skipped_same_file
_.marked_lazy  # memsizes.py: tests/cli/test_show_mem.py and docs/show-mem.md
_.page_reads  # tui/model/hexdoc.py: tests/tui/test_tui_model.py, test_tui_pilot.py, benchmarks/bench_tui.py
_.doc_page  # repair/fixes/__init__.py Fix: tests/repair/test_repair_fixes.py checks every fix has its page
wait_prefetch  # scanner.py: tests/scan/test_scanner.py waits on the prefetch thread before measuring
scan_bytes  # secrets.py: the in-memory scan tests/checks/test_secrets.py holds the mmapped one to
_.column_text  # tui/widgets/tables.py: what the Pilot tests read off a table
_.full_text
_.visible_lines  # tui/widgets/hexview.py: what the Pilot tests read off the hex view

# --- tui/: Textual reads these through the class or calls them by name ---
CSS_PATH  # App: the stylesheet (tui/app.tcss)
TITLE  # App: header/terminal title
ENABLE_COMMAND_PALETTE  # App: off
AUTO_FOCUS  # App/Screen: first focused widget
BINDINGS  # App, Screen and widget key bindings
can_focus  # Widget class attribute
_.compose  # builds a widget's children
_.on_mount  # Mount event
_.on_show  # Show event: fill a tab the first time it is on screen
_.on_resize  # Resize event
_.on_tree_node_highlighted  # Tree.NodeHighlighted message
_.on_data_table_row_selected  # DataTable.RowSelected message
_.on_data_table_row_highlighted  # DataTable.RowHighlighted message
_.on_input_changed  # Input.Changed message
_.on_input_submitted  # Input.Submitted message
_.check_action  # asked before a binding's action runs
_.render_line  # Line API: ScrollView calls it per visible line
_.action_tab  # actions, called by name from BINDINGS strings
_.action_toggle_secrets
_.action_help
_.action_filter
_.action_clear_filter
_.action_page_down
_.action_page_up
_.action_scroll_home
_.action_scroll_end
_.action_next
_.action_back
_.action_search
_.placeholder  # reactive attributes we set; Textual redraws from them
_.virtual_size
_.show_root
_.guide_depth
