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

make_app() {
  local name=$1 plugin=$2 dir=$work/$1
  mkdir -p "$dir/src" "$dir/app" "$dir/icons"
  cp "$repo/examples/minimal/src-tauri/icons/icon.png" "$dir/icons/"
  cp "$repo/Cargo.lock" "$dir/"
  echo '<!doctype html><title>size</title><p>size</p>' > "$dir/app/index.html"
  cat > "$dir/Cargo.toml" <<EOF
[package]
name = "size-$name"
version = "0.1.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
tauri = { version = "2", features = ["custom-protocol"] }
serde_json = "1"
$plugin

[build-dependencies]
tauri-build = { version = "2" }

[profile.release]
strip = true
EOF
  echo 'fn main() { tauri_build::build() }' > "$dir/build.rs"
  cat > "$dir/tauri.conf.json" <<EOF
{
  "productName": "size-$name",
  "version": "0.1.0",
  "identifier": "dev.tauri-plugin-opentelemetry.size-$name",
  "build": { "frontendDist": "app" },
  "app": { "windows": [{ "title": "size" }] },
  "bundle": { "active": false, "icon": ["icons/icon.png"] }
}
EOF
  local register=""
  [ -n "$plugin" ] && register=".plugin(tauri_plugin_opentelemetry::init())"
  cat > "$dir/src/main.rs" <<EOF
fn main() {
    tauri::Builder::default()
        $register
        .run(tauri::generate_context!())
        .expect("the app runs");
}
EOF
}

declare -A crates bytes
for entry in "${sets[@]}"; do
  name=${entry%%|*}
  plugin=${entry#*|}
  make_app "$name" "$plugin"
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
for entry in "minimal|none (\`default-features = false\`)" "default|\`minidumps\`, \`server\`, \`panel\`" \
  "full|default + \`email\`, \`otlp-grpc\`"; do
  name=${entry%%|*}
  features=${entry#*|}
  echo "| $name | $features | $((crates[$name] - crates[bare])) | $(mib $((bytes[$name] - bytes[bare]))) | $(mib "${bytes[$name]}") |"
done
