//! `#[tauri_plugin_opentelemetry::command]`: a Tauri command whose work joins the trace of
//! the webview call that invoked it. Use it in place of `#[tauri::command]` (it adds that
//! attribute, with the same arguments), or above it. Re-exported by
//! `tauri-plugin-opentelemetry`; this crate is not used on its own.
//!
//! Why an attribute: Tauri 2 has no hook that runs around every command of the app (a
//! plugin sees only its own invokes), and an async command runs on a task of its own, so
//! the trace context has to be put on the command's future. The attribute adds one
//! argument (the plugin's `InvokeTrace`, which reads the call's `traceparent` header and
//! starts the command's server span) and runs the body in that span: `#[instrument]` and
//! `trace_async` spans inside become its children, and an `Err` fails it.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{parse_macro_input, Attribute, FnArg, ItemFn, Pat, PatIdent, ReturnType, Type};

/// Makes a Tauri command traced: a server span named after the command, child of the
/// webview's client span for the call (the plugin's init script sends its `traceparent`),
/// current while the body runs; an `Err` result fails it with the error's message.
/// Written in place of `#[tauri::command]` (with its arguments: `rename_all`, `async`), or
/// above it.
///
/// ```ignore
/// #[tauri_plugin_opentelemetry::command]
/// async fn export_project(path: String) -> Result<u32, String> {
///     encode(&path).await // its #[instrument] spans join the webview's trace
/// }
/// ```
#[proc_macro_attribute]
pub fn command(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    expand(args.into(), function)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Whether `attribute` is Tauri's `#[command]` (`tauri::command` or `command`).
fn is_tauri_command(attribute: &Attribute) -> bool {
    let path = attribute.path();
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    matches!(
        names.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ["tauri", "command"] | ["command"]
    )
}

/// Attributes that stay on the command itself (what Tauri and rustdoc read); the rest
/// (`#[instrument]` among them) go on the body, so they run inside the span.
fn stays_outside(attribute: &Attribute) -> bool {
    ["doc", "cfg", "allow", "warn", "deny", "expect"]
        .iter()
        .any(|name| attribute.path().is_ident(name))
}

/// Whether the command returns a `Result` (of any path ending in `Result`).
fn returns_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Type(_, ty) => match ty.as_ref() {
            Type::Path(path) => path
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "Result"),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

fn expand(args: TokenStream2, function: ItemFn) -> syn::Result<TokenStream2> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    if let Some(receiver) = sig.receiver() {
        return Err(syn::Error::new_spanned(
            receiver,
            "a Tauri command is a free function, without `self`",
        ));
    }
    let has_tauri_command = attrs.iter().any(is_tauri_command);
    if has_tauri_command && !args.is_empty() {
        return Err(syn::Error::new_spanned(
            args,
            "give these arguments to `#[tauri::command]`, which is already there",
        ));
    }
    let (outside, inside): (Vec<Attribute>, Vec<Attribute>) = attrs
        .into_iter()
        .partition(|a| is_tauri_command(a) || stays_outside(a));
    let lints: Vec<&Attribute> = outside
        .iter()
        .filter(|a| !a.path().is_ident("doc") && !a.path().is_ident("cfg") && !is_tauri_command(a))
        .collect();
    let tauri_command = (!has_tauri_command).then(|| quote!(#[::tauri::command(#args)]));

    // The command keeps its arguments (Tauri reads their names); the body, in a function
    // of its own with the original patterns and signature, gets them passed on.
    let mut outer = sig.clone();
    let mut passed = Vec::new();
    for (i, input) in outer.inputs.iter_mut().enumerate() {
        let FnArg::Typed(typed) = input else { continue };
        let ident = match typed.pat.as_ref() {
            Pat::Ident(PatIdent {
                ident,
                subpat: None,
                ..
            }) => ident.clone(),
            _ => format_ident!("__otel_arg{}", i),
        };
        *typed.pat = Pat::Ident(PatIdent {
            attrs: Vec::new(),
            by_ref: None,
            mutability: None,
            ident: ident.clone(),
            subpat: None,
        });
        passed.push(ident);
    }
    let trace = syn::Ident::new("__otel_invoke", Span::call_site());
    outer
        .inputs
        .push(syn::parse_quote!(#trace: ::tauri_plugin_opentelemetry::InvokeTrace));
    let mut inner = sig;
    inner.ident = format_ident!("__otel_command_body");
    let body_fn = &inner.ident;
    let call = quote!(#body_fn(#(#passed),*));
    let run = match (inner.asyncness.is_some(), returns_result(&inner.output)) {
        (true, true) => quote!(#trace.run_async_result(#call).await),
        (true, false) => quote!(#trace.run_async(#call).await),
        (false, true) => quote!(#trace.run_result(move || #call)),
        (false, false) => quote!(#trace.run(move || #call)),
    };
    Ok(quote! {
        #(#outside)*
        #tauri_command
        #vis #outer {
            #(#lints)*
            #(#inside)*
            #inner #block
            #run
        }
    })
}
