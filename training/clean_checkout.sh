# Sourced by the make_bundled.sh scripts before they build a bundled model: moves to the
# repository root (paths recorded in the model are then relative to it) and stops unless the
# checkout is a clean commit, since the model's metadata names the commit it was trained
# from. PIPAN_ALLOW_DIRTY=1 goes on anyway (trying out a script itself; the commit is then
# recorded with +dirty).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
changes=$(git status --porcelain --untracked-files=no 2>&1) || changes="not a git checkout"
if [ -n "$changes" ] && [ "${PIPAN_ALLOW_DIRTY:-0}" != 1 ]; then
    echo "$0: bundled models come from clean commits, and this checkout has uncommitted" \
         "changes (or is no git checkout): commit them, or set PIPAN_ALLOW_DIRTY=1" >&2
    exit 1
fi
