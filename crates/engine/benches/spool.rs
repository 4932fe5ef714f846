//! The offline spool's write and replay of 64 KiB batches beside plain file I/O in the
//! same run: appends to one file with `sync_data` after each (the same durability), and
//! without; sequential reads of one file.
#![allow(missing_docs, clippy::unwrap_used)]

use std::fs::File;
use std::hint::black_box;
use std::io::{Read as _, Seek as _, Write as _};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use telemetry_engine::export::BenchSpool;

/// An encoded OTLP batch of a few hundred spans is about this big.
const BATCH: usize = 64 << 10;

fn write(c: &mut Criterion) {
    let payload = vec![0x5au8; BATCH];
    let dir = tempfile::tempdir().unwrap();
    let spool = BenchSpool::open(&dir.path().join("spool"), 64 << 20).unwrap();
    let mut synced = File::create(dir.path().join("synced")).unwrap();
    let mut plain = File::create(dir.path().join("plain")).unwrap();
    let mut g = c.benchmark_group("spool_write_64k_batch");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    g.bench_function("file_append_sync", |b| {
        b.iter(|| {
            synced.write_all(&payload).unwrap();
            synced.sync_data().unwrap();
        });
    });
    g.bench_function("file_append", |b| {
        b.iter(|| plain.write_all(&payload).unwrap());
    });
    g.bench_function("ours_push", |b| b.iter(|| spool.push(&payload).unwrap()));
    g.finish();
}

fn replay(c: &mut Criterion) {
    let payload = vec![0xa5u8; BATCH];
    let dir = tempfile::tempdir().unwrap();
    let spool = BenchSpool::open(&dir.path().join("spool"), 64 << 20).unwrap();
    let path = dir.path().join("plain");
    {
        let mut file = File::create(&path).unwrap();
        for _ in 0..256 {
            file.write_all(&payload).unwrap();
        }
    }
    let mut file = File::open(&path).unwrap();
    let mut buffer = vec![0u8; BATCH];
    let mut g = c.benchmark_group("spool_replay_64k_batch");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    g.bench_function("file_read", |b| {
        b.iter(|| {
            if file.read_exact(&mut buffer).is_err() {
                file.rewind().unwrap();
                file.read_exact(&mut buffer).unwrap();
            }
            black_box(&buffer);
        });
    });
    g.bench_function("ours_pop", |b| {
        b.iter_batched(
            || spool.push(&payload).unwrap(),
            |()| black_box(spool.pop().unwrap()),
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, write, replay);
criterion_main!(benches);
