//! The backend half of a traced invoke: [`InvokeTrace`], the argument the
//! [`command`](crate::command) attribute adds to a Tauri command.

use std::future::Future;

use serde::Serialize;
use tauri::ipc::{CommandArg, CommandItem, InvokeError};
use tauri::{Manager as _, Runtime};
use telemetry_engine::tracing::{InvokeSpan, Tracer};

use crate::Telemetry;

/// The server span of one invoke of a Tauri command: named after the command
/// (`export_project`, `plugin:fs|read_file`), with the `rpc.*` attributes, child of the
/// webview's client span when the call carried its `traceparent` (the plugin's init script
/// adds one to every invoke). Taken as a command argument; the
/// [`command`](crate::command) attribute adds it and runs the body in it, which is what
/// you want. Without the plugin registered, the span goes nowhere.
///
/// # Examples
/// By hand, without the attribute:
/// ```
/// use tauri_plugin_opentelemetry::InvokeTrace;
///
/// #[tauri::command]
/// async fn open_project(path: String, trace: InvokeTrace) -> Result<usize, String> {
///     trace.run_async_result(async move { Ok(path.len()) }).await
/// }
/// ```
#[derive(Debug)]
pub struct InvokeTrace(InvokeSpan);

impl InvokeTrace {
    /// Runs `f` in the span, then ends it.
    pub fn run<T>(self, f: impl FnOnce() -> T) -> T {
        self.0.run(f)
    }

    /// Runs `f` in the span, then ends it, failed with the error's message when `f`
    /// returns one.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn run_result<T, E: Serialize>(self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.0.run_result(f)
    }

    /// Runs `command` with the span current at every poll, then ends it.
    pub async fn run_async<F: Future>(self, command: F) -> F::Output {
        self.0.run_async(command).await
    }

    /// [`InvokeTrace::run_async`] for a command that returns a `Result`: an error fails the
    /// span with its message.
    ///
    /// # Errors
    /// Whatever `command` returns.
    pub async fn run_async_result<T, E: Serialize, F>(self, command: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.0.run_async_result(command).await
    }
}

impl<'de, R: Runtime> CommandArg<'de, R> for InvokeTrace {
    fn from_command(command: CommandItem<'de, R>) -> Result<Self, InvokeError> {
        let name = match command.plugin {
            Some(plugin) => format!("plugin:{plugin}|{}", command.name),
            None => command.name.to_owned(),
        };
        let webview = command.message.webview_ref();
        let header = command
            .message
            .headers()
            .get("traceparent")
            .and_then(|value| value.to_str().ok());
        let span = match webview.try_state::<Telemetry>() {
            Some(telemetry) => telemetry
                .0
                .tracer()
                .start_invoke(&name, webview.label(), header),
            None => Tracer::detached().start_invoke(&name, webview.label(), header),
        };
        Ok(Self(span))
    }
}
