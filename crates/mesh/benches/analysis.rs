//! Criterion benches of the mesh engine: `cargo bench -p dentex-mesh --bench analysis`.
//! The same inputs as `benches/mesh.rs` (which also prints memory figures):
//! a 1.28 M-triangle torus as binary STL, a 180,000-triangle one as ASCII
//! STL, OBJ and binary PLY.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails loudly")]

mod common;

use common::{ascii_stl, binary_stl, obj, ply_binary, torus};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dentex_mesh::{Limits, analyze, analyze_binary_stl, binary_stats, read, thumbnail};
use std::hint::black_box;
use std::time::Duration;

fn binary(c: &mut Criterion) {
    let limits = Limits::default();
    let (p, t) = torus(800);
    let stl = binary_stl(&p, &t);
    let (_, mesh) = read(&stl, &limits).unwrap();
    let mut g = c.benchmark_group("binary STL, 1.28 M triangles");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(stl.len() as u64));
    g.bench_function("streaming statistics", |b| b.iter(|| binary_stats(black_box(&stl))));
    g.bench_function("parse", |b| b.iter(|| read(black_box(&stl), &limits).unwrap()));
    g.throughput(Throughput::Elements(t.len() as u64));
    g.bench_function("full analysis from the bytes", |b| {
        b.iter(|| analyze_binary_stl(black_box(&stl), &limits).unwrap())
    });
    g.bench_function("full analysis of a parsed mesh", |b| {
        b.iter(|| analyze(black_box(&mesh)))
    });
    g.bench_function("parse, then full analysis", |b| {
        b.iter(|| analyze(&read(black_box(&stl), &limits).unwrap().1))
    });
    g.bench_function("thumbnail 512 px", |b| {
        b.iter(|| thumbnail::render(black_box(&mesh), 512).unwrap())
    });
    g.finish();
}

fn text(c: &mut Criterion) {
    let limits = Limits::default();
    let (p, t) = torus(300);
    let mut g = c.benchmark_group("parse, 180,000 triangles");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for (name, bytes) in [
        ("ASCII STL", ascii_stl(&p, &t)),
        ("OBJ", obj(&p, &t)),
        ("binary PLY", ply_binary(&p, &t)),
    ] {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(name, |b| b.iter(|| read(black_box(&bytes), &limits).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, binary, text);
criterion_main!(benches);
