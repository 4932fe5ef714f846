#!/usr/bin/env bash
# What the plugin adds to a Tauri app, per feature set: crates in the dependency graph and
# the size of the stripped release binary, each against the same bare Tauri app built in
# the same run (same lock file, same profile, same target directory).
#
#   scripts/size.sh            # prints a Markdown table (make size)
#
# The apps are generated in a temporary folder: a window loading one static page; the
# plugin's sets register `tauri_plugin_opentelemetry::init()`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${SIZE_TARGET_DIR:-$repo/target/size}"

# name | the plugin's dependency line (empty: no plugin)
sets=(
  "bare|"
  "minimal|tauri-plugin-opentelemetry = { path = \"$repo\", default-features = false }"
  "default|tauri-plugin-opentelemetry = { path = \"$repo\" }"
  "full|tauri-plugin-opentelemetry = { path = \"$repo\", features = [\"email\", \"otlp-grpc\"] }"
)

# shellcheck source=scripts/tauri-app.sh
. "$repo/scripts/tauri-app.sh"

declare -A crates bytes
for entry in "${sets[@]}"; do
  name=${entry%%|*}
  plugin=${entry#*|}
  make_app "$work/$name" "size-$name" "$plugin"
  register=""
  [ -n "$plugin" ] && register=".plugin(tauri_plugin_opentelemetry::init())"
  cat > "$work/$name/src/main.rs" <<EOF
fn main() {
    tauri::Builder::default()
        $register
        .run(tauri::generate_context!())
        .expect("the app runs");
}
EOF
  (cd "$work/$name" && cargo build --release --quiet)
  # Every package of the normal dependency graph once (build scripts' own deps included).
  crates[$name]=$(cd "$work/$name" && cargo tree -e normal,build --prefix none 2>/dev/null \
    | sed 's/ (\*)$//; s/ (proc-macro)$//' | sort -u | wc -l)
  bytes[$name]=$(stat -c %s "$CARGO_TARGET_DIR/release/size-$name")
done

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "| Set | Features | Crates added | Binary added (stripped release) | Binary |"
echo "|---|---|---|---|---|"
echo "| bare Tauri app | — | — (${crates[bare]} crates) | — | $(mib "${bytes[bare]}") |"
for entry in "minimal|none (\`default-features = false\`)" "default|\`alerts\`, \`minidumps\`, \`server\`, \`panel\`" \
  "full|default + \`email\`, \`otlp-grpc\`"; do
  name=${entry%%|*}
  features=${entry#*|}
  echo "| $name | $features | $((crates[$name] - crates[bare])) | $(mib $((bytes[$name] - bytes[bare]))) | $(mib "${bytes[$name]}") |"
done
