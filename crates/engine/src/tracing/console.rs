//! The console span exporter: a readable tree of each trace in a batch.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;

use opentelemetry::trace::{SpanId, Status};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::export::ExportStatusBoard;

/// Prints finished spans as trees, one per trace, with durations and attributes. Spans
/// whose parent is not in the same batch (long-running parents) start their own tree.
#[derive(Debug)]
pub(crate) struct ConsoleSpanExporter {
    status: ExportStatusBoard,
}

impl ConsoleSpanExporter {
    pub(crate) const NAME: &'static str = "traces:console";

    pub(crate) fn new(status: ExportStatusBoard) -> Self {
        status.register(Self::NAME);
        Self { status }
    }
}

/// Renders `batch` as indented trees.
pub(crate) fn render(batch: &[SpanData]) -> String {
    let ids: std::collections::HashSet<SpanId> =
        batch.iter().map(|s| s.span_context.span_id()).collect();
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    let mut roots = Vec::new();
    for span in batch {
        if span.parent_span_id != SpanId::INVALID && ids.contains(&span.parent_span_id) {
            children.entry(span.parent_span_id).or_default().push(span);
        } else {
            roots.push(span);
        }
    }
    roots.sort_by_key(|s| s.start_time);
    let mut out = String::new();
    for root in roots {
        let _ = writeln!(out, "trace {}", root.span_context.trace_id());
        write_span(&mut out, root, &children, 1);
    }
    out
}

fn write_span(
    out: &mut String,
    span: &SpanData,
    children: &HashMap<SpanId, Vec<&SpanData>>,
    depth: usize,
) {
    let ms = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let status = match &span.status {
        Status::Error { description } => format!(" ERROR: {description}"),
        _ => String::new(),
    };
    let attrs: Vec<String> = span
        .attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    let attrs = if attrs.is_empty() {
        String::new()
    } else {
        format!(" {{{}}}", attrs.join(", "))
    };
    let _ = writeln!(
        out,
        "{}{} {ms:.2} ms{status}{attrs}",
        "  ".repeat(depth),
        span.name
    );
    for event in span.events.iter() {
        let _ = writeln!(out, "{}· {}", "  ".repeat(depth + 1), event.name);
    }
    if let Some(kids) = children.get(&span.span_context.span_id()) {
        let mut kids = kids.clone();
        kids.sort_by_key(|s| s.start_time);
        for kid in kids {
            write_span(out, kid, children, depth + 1);
        }
    }
}

impl SpanExporter for ConsoleSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let text = render(&batch);
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => {
                self.status.success(Self::NAME);
                Ok(())
            }
            Err(e) => {
                self.status
                    .failure(Self::NAME, format!("cannot write to stdout: {e}"));
                Err(OTelSdkError::InternalFailure(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{
        Span as _, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
    };
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

    #[test]
    fn renders_each_trace_as_an_indented_tree() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("t");
        let root = Context::new().with_span(tracer.start("render"));
        let mut child = tracer.start_with_context("encode", &root);
        child.set_attribute(KeyValue::new("codec", "h264"));
        child.add_event("keyframe", vec![]);
        child.set_status(Status::error("disk full"));
        child.end();
        root.span().end();
        let text = super::render(&exporter.get_finished_spans().unwrap());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("trace "), "{text}");
        assert!(lines[1].starts_with("  render "), "{text}");
        assert!(
            lines[2].starts_with("    encode ")
                && lines[2].contains("ERROR: disk full")
                && lines[2].contains("{codec=h264}"),
            "{text}"
        );
        assert_eq!(lines[3], "      · keyframe");
    }
}
