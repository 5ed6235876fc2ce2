#!/bin/sh
# Runs frp's own end-to-end suite (compiled: e2e.test, kept beside the repo in
# ../shared/frp-e2e/) with burrow's frpc and frps in frp's place, then prints
# how many specs passed and failed. Extra arguments go to the suite, e.g.
#   npm run test:frp-e2e -- -ginkgo.focus='Cmd' -ginkgo.skip-file=/legacy/
# The suite starts the two commands with an empty environment (no PATH), so
# they are given as small wrapper scripts that call this node by its full path.
# Not part of `npm test`: a full run takes many minutes.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)

# The suite: FRP_E2E_SUITE if set, else ../shared/frp-e2e/e2e.test from this
# checkout, else from the main checkout when this is a git worktree.
suite=${FRP_E2E_SUITE:-}
if [ -z "$suite" ]; then
  for base in "$root" "$(dirname "$(git -C "$root" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo "$root/.git")")"; do
    if [ -f "$base/../shared/frp-e2e/e2e.test" ]; then
      suite=$(cd "$base/../shared/frp-e2e" && pwd)/e2e.test
      break
    fi
  done
fi
if [ -z "$suite" ] || [ ! -f "$suite" ]; then
  echo "frp-e2e: frp's compiled suite (../shared/frp-e2e/e2e.test beside the repo) is not here; nothing to run."
  exit 0
fi

for cmd in frpc frps; do
  if [ ! -f "$root/dist/cli/$cmd.js" ]; then
    echo "frp-e2e: dist/cli/$cmd.js is missing; run npm run build first" >&2
    exit 1
  fi
done

node_bin=$(node -p 'process.execPath')
work=$(mktemp -d "${TMPDIR:-/tmp}/burrow-frp-e2e.XXXXXX")
for cmd in frpc frps; do
  printf '#!/bin/sh\nexec %s %s "$@"\n' "'$node_bin'" "'$root/dist/cli/$cmd.js'" > "$work/$cmd"
  chmod +x "$work/$cmd"
done
report=${FRP_E2E_REPORT:-$work/report.json}
mkdir -p "$work/run"

echo "frp-e2e: $suite"
echo "frp-e2e: frpc/frps wrappers and scratch files in $work"
status=0
(cd "$work/run" && "$suite" -test.timeout=0 \
  -frps-path="$work/frps" -frpc-path="$work/frpc" \
  -log-level=info -ginkgo.no-color -ginkgo.timeout=25m \
  -ginkgo.json-report="$report" "$@") || status=$?

if [ ! -f "$report" ]; then
  echo "frp-e2e: the suite wrote no report (exit code $status)"
  exit "$status"
fi
node -e '
const reports = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
const count = {};
const failed = [];
for (const suite of reports) {
  for (const spec of suite.SpecReports ?? []) {
    if (spec.LeafNodeType !== "It") continue;
    count[spec.State] = (count[spec.State] ?? 0) + 1;
    if (spec.State !== "passed" && spec.State !== "skipped" && spec.State !== "pending") {
      failed.push([...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText].join(" "));
    }
  }
}
for (const name of failed) console.log(`frp-e2e: not passed: ${name}`);
console.log(`frp-e2e: ${count.passed ?? 0} passed, ${failed.length} failed, ${count.skipped ?? 0} skipped (report: ${process.argv[1]})`);
' "$report"
exit "$status"
