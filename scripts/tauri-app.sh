# Generates a small Tauri app for the measuring scripts (size.sh, overhead.sh): sourced,
# not run. `make_app DIR NAME DEPENDENCY` writes a crate in DIR named NAME, with one
# window loading app/index.html, tauri plus DEPENDENCY (a Cargo line, or empty), the
# repository's lock file, and the release profile stripped. The caller writes
# DIR/src/main.rs and, if it wants, DIR/app/index.html.
make_app() {
  local dir=$1 name=$2 dependency=$3 repo
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$dir/src" "$dir/app" "$dir/icons"
  cp "$repo/examples/minimal/src-tauri/icons/icon.png" "$dir/icons/"
  cp "$repo/Cargo.lock" "$dir/"
  echo '<!doctype html><title>app</title><p>app</p>' > "$dir/app/index.html"
  cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$name"
version = "0.1.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
tauri = { version = "2", features = ["custom-protocol"] }
serde_json = "1"
$dependency

[build-dependencies]
tauri-build = { version = "2" }

[profile.release]
strip = true
TOML
  echo 'fn main() { tauri_build::build() }' > "$dir/build.rs"
  cat > "$dir/tauri.conf.json" <<JSON
{
  "productName": "$name",
  "version": "0.1.0",
  "identifier": "dev.tauri-plugin-opentelemetry.$name",
  "build": { "frontendDist": "app" },
  "app": { "windows": [{ "title": "$name" }] },
  "bundle": { "active": false, "icon": ["icons/icon.png"] }
}
JSON
}
