//! Waiting for a future from the main thread: the plugin's setup and its shutdown at
//! exit are synchronous hooks, the engine's start and stop are async.

use std::future::Future;

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `future` to completion on Tauri's async runtime, from synchronous code.
///
/// An app whose `main` is `#[tokio::main]` runs the plugin's hooks inside its own
/// runtime's context, where blocking on a future panics ("Cannot start a runtime from
/// within a runtime"), and the app would not start. There the thread first leaves that
/// context: with `block_in_place` on a multi-threaded runtime (the default of
/// `#[tokio::main]`, also when handed to Tauri with `tauri::async_runtime::set`, as
/// Tauri's guide shows); from a helper thread on a current-thread runtime, which allows
/// no such thing (Tauri then runs on its own runtime: a current-thread one handed to it
/// would stall with its only thread in the event loop anyway).
pub(crate) fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => tauri::async_runtime::block_on(future),
        Ok(RuntimeFlavor::CurrentThread) => std::thread::scope(|scope| {
            scope
                .spawn(|| tauri::async_runtime::block_on(future))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }),
        Ok(_) => tokio::task::block_in_place(|| tauri::async_runtime::block_on(future)),
    }
}
