//! The simulated render pipeline: every application metric of the spec, traced render
//! segments with logs, and incidents (error bursts, slow frames, a growing render queue)
//! so that alerts fire and health turns unhealthy, then recover.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tauri_plugin_opentelemetry::engine::health::{HealthCheck, HealthCheckResult, HealthStatus};
use tauri_plugin_opentelemetry::engine::metrics::Metrics;
use tauri_plugin_opentelemetry::engine::tracing::Tracer;
use tauri_plugin_opentelemetry::engine::KeyValue;
use tauri_plugin_opentelemetry::TelemetryManager;

use crate::config::Args;
use crate::encoders::{launch_round, EncoderSchedule};

/// Queue length from which the render queue check reports Warning.
const QUEUE_WARNING: u64 = 40;
/// Queue length from which the render queue check reports Unhealthy.
const QUEUE_UNHEALTHY: u64 = 120;

/// How often incidents happen: one a third of `period` long in every `period`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incidents {
    /// From the start of one incident to the next.
    pub(crate) period: Duration,
}

impl Incidents {
    /// Whether `elapsed` since the start falls in an incident: the middle third of each
    /// period (with the default 90 s: from 30 s to 60 s, from 120 s to 150 s, …).
    fn active(&self, elapsed: Duration) -> bool {
        let period = self.period.as_millis().max(3);
        let at = elapsed.as_millis() % period;
        at >= period / 3 && at < 2 * period / 3
    }
}

/// The render queue, shared by the workload (which fills and drains it) and its health
/// check.
#[derive(Debug, Default, Clone)]
pub(crate) struct RenderQueue(Arc<AtomicU64>);

impl RenderQueue {
    fn len(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// `render_queue`: the studio's own health check, Unhealthy when renders pile up.
pub(crate) struct RenderQueueCheck(pub(crate) RenderQueue);

#[async_trait]
impl HealthCheck for RenderQueueCheck {
    fn name(&self) -> &str {
        "render_queue"
    }

    async fn check(&self) -> HealthCheckResult {
        let queued = self.0.len();
        let (status, message) = match queued {
            q if q >= QUEUE_UNHEALTHY => (
                HealthStatus::Unhealthy,
                format!("{q} segments waiting to render (limit {QUEUE_UNHEALTHY})"),
            ),
            q if q >= QUEUE_WARNING => (
                HealthStatus::Warning,
                format!("{q} segments waiting to render"),
            ),
            q => (HealthStatus::Healthy, format!("{q} segments waiting")),
        };
        let mut result = HealthCheckResult::new(status, message);
        result
            .metadata
            .insert("observedValue".into(), queued.to_string());
        result
            .metadata
            .insert("observedUnit".into(), "segments".into());
        result
    }
}

/// xorshift64*: enough randomness for a simulated workload, no dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly log-normal around `median`, with a long right tail.
    fn around(&mut self, median: f64) -> f64 {
        let z: f64 = (0..4).map(|_| self.next_f64()).sum::<f64>() - 2.0;
        median * (z * 0.6).exp()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next_f64() * items.len() as f64) as usize % items.len()]
    }
}

/// The simulated studio: call [`Studio::run`] on a Tokio runtime.
pub(crate) struct Studio {
    telemetry: Arc<TelemetryManager>,
    queue: RenderQueue,
    incidents: Incidents,
    encoders: EncoderSchedule,
    rng: Rng,
}

impl Studio {
    /// A studio recording into `telemetry`, its render queue watched by `queue`'s check,
    /// with the incidents and encoders `args` ask for.
    pub(crate) fn new(telemetry: Arc<TelemetryManager>, queue: RenderQueue, args: &Args) -> Self {
        Self {
            telemetry,
            queue,
            incidents: args.incidents,
            encoders: args.encoders,
            rng: Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id())),
        }
    }

    /// Renders until `stop` resolves: one frame every 20 ms, a traced segment every 30,
    /// a round of encoder child processes on their schedule.
    pub(crate) async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        let started = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_millis(20));
        let mut encoders = tokio::time::interval(self.encoders.every);
        let mut round = 0u32;
        let mut frame = 0u64;
        let mut in_incident = false;
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = encoders.tick(), if self.encoders.rounds.is_none_or(|r| round < r) => {
                    launch_round(&self.telemetry, &self.encoders, round);
                    round += 1;
                    continue;
                }
                () = &mut stop => break,
            }
            frame += 1;
            let incident = self.incidents.active(started.elapsed());
            if incident != in_incident {
                in_incident = incident;
                if incident {
                    tracing::warn!("render incident: the encoder farm is degraded");
                } else {
                    tracing::info!("render incident over");
                }
            }
            if let Err(e) = self.step(frame, incident).await {
                tracing::error!(error = %e, "the workload could not record a metric");
            }
            if frame.is_multiple_of(30) {
                let fail = self.rng.chance(if incident { 0.3 } else { 0.03 });
                traced_segment(self.telemetry.tracer(), frame / 30, fail).await;
            }
        }
    }

    /// One simulated frame, API call, cache access and task, through the spec's API.
    async fn step(&mut self, frame: u64, incident: bool) -> Result<(), Box<dyn std::error::Error>> {
        let m: &Metrics = self.telemetry.metrics();
        let rng = &mut self.rng;
        // Rendering: ~16 ms frames; 2% slow frames, 30% during an incident.
        let slow = rng.chance(if incident { 0.3 } else { 0.02 });
        let frame_ms = rng.around(if slow { 180.0 } else { 16.0 });
        m.record_histogram("frame_processing_duration_ms", frame_ms)
            .await?;
        m.increment_counter("frames_processed_total", 1).await?;
        m.set_gauge("encoding_speed_fps", 1000.0 / frame_ms.max(1.0))
            .await?;
        if frame.is_multiple_of(120) {
            let codec = if rng.chance(0.7) { "h264" } else { "prores" };
            let median = if incident { 45_000.0 } else { 4_000.0 };
            m.record_histogram("video_processing_duration_ms", rng.around(median))
                .await?;
            m.increment_counter_with_attributes("videos_processed_total", 1, [("codec", codec)])
                .await?;
        }
        // API: the studio's local render API; 1% errors, 25% during an incident.
        let endpoint = rng.pick(&["/render", "/preview", "/export", "/projects"]);
        let method = if endpoint == "/projects" {
            "GET"
        } else {
            "POST"
        };
        let failed = rng.chance(if incident { 0.25 } else { 0.01 });
        let status = if failed { "error" } else { "success" };
        m.increment_counter_with_attributes(
            "api_requests_total",
            1,
            [
                ("method", method),
                ("endpoint", endpoint),
                ("status", status),
            ],
        )
        .await?;
        m.record(
            "api_request_duration_ms",
            rng.around(if incident { 400.0 } else { 35.0 }),
            &[KeyValue::new("endpoint", endpoint)],
        )?;
        if failed {
            m.increment_counter_with_attributes("api_errors_total", 1, [("endpoint", endpoint)])
                .await?;
        }
        // Cache of decoded frames.
        if rng.chance(0.85) {
            m.increment_counter("cache_hits_total", 1).await?;
        } else {
            m.increment_counter("cache_misses_total", 1).await?;
            if rng.chance(0.3) {
                m.increment_counter("cache_evictions_total", 1).await?;
            }
        }
        m.set_gauge("cache_size_bytes", 256e6 + rng.next_f64() * 64e6)
            .await?;
        // Worker pool and the render queue: it piles up during an incident, drains after.
        let busy = if incident {
            0.97
        } else {
            0.4 + rng.next_f64() * 0.5
        };
        m.set_gauge("worker_pool_utilization", busy.min(1.0))
            .await?;
        m.increment_counter("tasks_executed_total", 1).await?;
        if rng.chance(if incident { 0.1 } else { 0.01 }) {
            m.increment_counter("tasks_failed_total", 1).await?;
        }
        let queued = self.queue.len();
        let next = if incident {
            (queued + 1).min(400)
        } else if queued > 20 {
            queued - 2
        } else {
            (rng.next_f64() * 20.0) as u64
        };
        self.queue.0.store(next, Ordering::Relaxed);
        m.set_gauge("queue_size", next as f64).await?;
        Ok(())
    }
}

/// A traced render of one segment: pipeline span, decode and encode children.
async fn traced_segment(tracer: &Tracer, segment: u64, fail: bool) {
    let inner = tracer.clone();
    let _ = tracer
        .trace_async("video_render_pipeline", |span| async move {
            span.set_attribute("segment", segment as i64);
            span.add_event("preparation_started");
            inner
                .trace_async("decode", |s| async move {
                    s.set_attribute("codec", "prores");
                    Ok::<_, String>(())
                })
                .await?;
            inner
                .trace_async("encode", |s| async move {
                    s.set_attribute("codec", "h264");
                    let bytes = mux(segment);
                    if fail {
                        tracing::error!(segment, "encoder ran out of memory");
                        Err("encoder ran out of memory".to_string())
                    } else {
                        tracing::info!(segment, bytes, "segment encoded");
                        Ok(())
                    }
                })
                .await
        })
        .await;
}

/// Code instrumented the `tracing` way: its span joins the current trace as a child.
#[tracing::instrument]
fn mux(segment: u64) -> u64 {
    tracing::debug!("writing container");
    segment * 1_048_576
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidents_take_the_middle_third_of_each_period() {
        let i = Incidents {
            period: Duration::from_secs(90),
        };
        let at = |s| i.active(Duration::from_secs(s));
        assert!(!at(0) && !at(29));
        assert!(at(30) && at(59));
        assert!(!at(60) && !at(119));
        assert!(at(120) && !at(150));
    }
}
