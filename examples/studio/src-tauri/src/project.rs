//! The studio's own commands, which its window calls: open a project, export it. Each is
//! written with `#[tauri_plugin_opentelemetry::command]` (in place of `#[tauri::command]`):
//! its backend work, instrumented the `tracing` way, joins the trace of the client span the
//! plugin's init script gives the call. No other telemetry code is needed on either side.

/// Clips in a project the studio opens (a simulated project file).
const CLIPS: usize = 12;
/// Segments an export may have.
const MAX_SEGMENTS: u32 = 32;

/// Reads a project: the number of its clips. A path that is not a `.studio` file fails.
#[tracing::instrument]
fn read_project(path: &str) -> Result<usize, String> {
    if !path.ends_with(".studio") {
        tracing::warn!("not a project file");
        return Err(format!("{path:?} is not a .studio project"));
    }
    tracing::info!(clips = CLIPS, "project read");
    Ok(CLIPS)
}

/// Encodes one segment of an export: its size in bytes.
#[tracing::instrument]
async fn encode_segment(segment: u32) -> u64 {
    tokio::task::yield_now().await;
    let bytes = u64::from(segment + 1) * 1_048_576;
    tracing::debug!(bytes, "segment encoded");
    bytes
}

/// Opens the project at `path`: how many clips it has.
#[tauri_plugin_opentelemetry::command]
pub(crate) async fn open_project(path: String) -> Result<usize, String> {
    read_project(&path)
}

/// Exports the project at `path` in `segments` segments: the bytes written.
#[tauri_plugin_opentelemetry::command]
pub(crate) async fn export_project(path: String, segments: u32) -> Result<u64, String> {
    if !(1..=MAX_SEGMENTS).contains(&segments) {
        return Err(format!(
            "segments: {segments} is not from 1 to {MAX_SEGMENTS}"
        ));
    }
    read_project(&path)?;
    let mut bytes = 0;
    for segment in 0..segments {
        bytes += encode_segment(segment).await;
    }
    tracing::info!(bytes, "export written");
    Ok(bytes)
}
