#!/usr/bin/env bash
# Checks the editor grammars (run by .ci/run; runs anywhere with no terminal):
#
#   1. the checked-in parser (src/) is what `tree-sitter generate` makes of grammar.js;
#   2. the corpus tests (test/corpus/) pass;
#   3. every `.drbook` file of the repository parses with no ERROR or MISSING node, except
#      those listed in test/expected-errors.txt, which must have one;
#   4. every query (queries/*.scm) compiles against the grammar and runs on a runbook;
#   5. the git diff driver of README / docs/editors.md names the enclosing step in hunk headers;
#   6. the VS Code TextMate grammar (editors/vscode/) loads and tokenizes every runbook.
#
# The tree-sitter CLI (version TS_VERSION below, the one that generated src/) comes from PATH,
# else from $DRBOOK_TOOLS/bin (default target/tools), else it is built there from crates.io (`cargo install`, about 4 minutes on 2 cores). When it
# cannot be had, the steps that need it say SKIPPED with the reason; the others still run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
TS_VERSION=0.27.1
tools="${DRBOOK_TOOLS:-$repo/target/tools}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The CLI compiles the parser into a cache; keep it out of $HOME.
export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$repo/target/tree-sitter-cache}"
export TREE_SITTER_DIR="$work/config"
mkdir -p "$XDG_CACHE_HOME" "$TREE_SITTER_DIR"
failed=0
fail() {
  echo "FAILED: $*" >&2
  failed=1
}

# The pinned version only: another CLI generates a different parser.c.
pinned() { [ -n "$1" ] && "$1" --version 2>/dev/null | grep -q "^tree-sitter $TS_VERSION\b"; }
find_cli() {
  if pinned "$(command -v tree-sitter || true)"; then
    command -v tree-sitter
  elif pinned "$tools/bin/tree-sitter"; then
    echo "$tools/bin/tree-sitter"
  elif command -v cargo >/dev/null 2>&1 &&
    cargo install --quiet --locked --root "$tools" tree-sitter-cli --version "$TS_VERSION" >&2; then
    echo "$tools/bin/tree-sitter"
  fi
}

ts="$(find_cli || true)"
if [ -z "$ts" ]; then
  echo "SKIPPED: the tree-sitter grammar checks (no tree-sitter CLI $TS_VERSION on PATH or in $tools, and \`cargo install tree-sitter-cli --version $TS_VERSION\` failed)" >&2
else
  echo "tree-sitter grammar: $("$ts" --version)"
  # Quiet the CLI's note about parser directories: this script names the grammar itself.
  quiet() { grep -v -e 'not configured any parser directories' -e 'tree-sitter init-config' \
    -e 'configuration file to indicate' -e 'language grammars\.' -e '^$' || true; }

  # 1. The generated parser is up to date.
  cp -r "$here" "$work/grammar"
  rm -rf "$work/grammar/src"
  (cd "$work/grammar" && "$ts" generate >/dev/null)
  for f in parser.c grammar.json node-types.json tree_sitter/parser.h; do
    if ! cmp -s "$work/grammar/src/$f" "$here/src/$f"; then
      fail "src/$f is not what \`tree-sitter generate\` makes of grammar.js (run it in $here and commit)"
    fi
  done

  # 2. Corpus tests.
  (cd "$here" && "$ts" test 2>&1 | quiet >"$work/test.log") || true
  tail -n 1 "$work/test.log"
  if ! grep -q "failed parses: 0" "$work/test.log" || grep -q "✗" "$work/test.log"; then
    cat "$work/test.log" >&2
    fail "corpus tests"
  fi

  # 3. Every runbook of the repository.
  expected="$here/test/expected-errors.txt"
  clean=0
  while IFS= read -r f; do
    out="$("$ts" parse --quiet -p "$here" "$repo/$f" 2>&1 | quiet || true)"
    if grep -qx "$f" <(grep -v '^#' "$expected"); then
      if ! grep -q -e ERROR -e MISSING <<<"$out"; then
        fail "$f is listed in test/expected-errors.txt but parses cleanly"
      fi
    elif grep -q -e ERROR -e MISSING <<<"$out"; then
      fail "$f: $out"
    else
      clean=$((clean + 1))
    fi
  done < <(cd "$repo" && git ls-files '*.drbook')
  echo "tree-sitter grammar: $clean runbooks parse with no error"

  # 4. Queries.
  for q in "$here"/queries/*.scm; do
    if ! "$ts" query -p "$here" "$q" "$repo/runbooks/quickstart.drbook" >"$work/query.log" 2>&1; then
      cat "$work/query.log" >&2
      fail "query $(basename "$q")"
    fi
  done
fi

# 5. The git diff driver: a change deep inside a step shows that step in its hunk header.
(
  cd "$work"
  git init -q diff && cd diff
  git config user.email ci@example.com && git config user.name ci
  cp "$repo/.gitattributes" .gitattributes
  git config diff.drbook.xfuncname "$(sed -n 's/^ *git config diff.drbook.xfuncname \x27\(.*\)\x27$/\1/p' "$repo/docs/editors.md" | head -n 1)"
  cp "$repo/runbooks/quickstart.drbook" q.drbook
  git add . && git commit -q -m base
  sed -i 's/grep -c order- standby\/orders.db/grep -c order- standby\/orders.db | tee count/' q.drbook
  git diff -U1 >"$work/diff.txt"
) || fail "could not run the git diff driver check"
if grep -q '^@@ .* @@ *step smoke_test "The standby serves all three orders" {$' "$work/diff.txt"; then
  echo "git diff driver: hunk headers name the step"
else
  cat "$work/diff.txt" >&2
  fail "git diff hunk header does not name the step (see .gitattributes and docs/editors.md)"
fi

# 6. The TextMate grammar.
if command -v node >/dev/null 2>&1; then
  node "$repo/editors/vscode/test/grammar.test.js" || fail "the VS Code TextMate grammar"
else
  echo "SKIPPED: the VS Code TextMate grammar check (node is not installed)" >&2
fi

exit "$failed"
