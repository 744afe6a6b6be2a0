"""`python -m mattermost_plugin new <dir> [--id ID] [--name NAME]`: start a new plugin."""

from __future__ import annotations

import argparse
import pathlib
import sys

from mattermost_plugin._scaffold import new_plugin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mattermost_plugin")
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="write a new plugin with a test into a new or empty directory")
    new.add_argument("directory", type=pathlib.Path)
    new.add_argument("--id", default="", help="the plugin id (default: com.example.<directory name>)")
    new.add_argument("--name", default="", help="the display name (default: from the directory name)")
    args = parser.parse_args(argv)
    try:
        written = new_plugin(args.directory, plugin_id=args.id, name=args.name)
    except (FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(p.name for p in written)} in {args.directory}")
    print(f"run it:  mm-plugin-host run {args.directory}")
    print(f"test it: cd {args.directory} && python -m pytest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
