#!/usr/bin/env bash
# A real picture of the plugin in use, for the README: Neovim's own terminal output (recorded in a
# pseudo-terminal) with the server's diagnostic on a file with a syntax error, drawn by xterm.js.
#   editors/nvim/test/screenshot.sh NVIM SERVER OUT.png
set -euo pipefail
nvim=$1 server=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/../../fixtures/workspace/part_syntax_error.py" "$work/part.py"
cols=100 rows=16
(cd "$work" && CADQUERY_LSP_SERVER="$server" CADQUERY_READY_FILE="$work/ready" XDG_STATE_HOME="$work/state" \
  python3 "$here/capture_tui.py" $cols $rows "$work/ready" "$work/tui.bin" 60 -- \
  "$nvim" --clean -u "$here/screenshot_init.lua" part.py)
node "$here/../../vscode/test/render-terminal.mjs" "$work/tui.bin" $cols $rows "$out"
echo "screenshot: $out"
