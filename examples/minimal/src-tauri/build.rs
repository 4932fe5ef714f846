//! Generates the app's context (config, capabilities, embedded frontend).

fn main() {
    tauri_build::build();
}
