//! Throughput and memory of the mesh engine on a generated scan-sized mesh.
//! Run: `cargo bench -p dentex-mesh --bench mesh` (prints a table).
//! The input is made here, so the figures reproduce anywhere: a torus of
//! 800 × 800 × 2 = 1,280,000 triangles (a 64 MB binary STL, the size of a
//! full-arch scan), and ASCII STL, OBJ and binary PLY versions of a smaller one.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails loudly")]

use dentex_mesh::{Limits, analyze, read};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn torus(n: usize) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let (big, small) = (30.0f32, 8.0f32);
    let mut p = Vec::with_capacity(n * n);
    for i in 0..n {
        let u = i as f32 / n as f32 * std::f32::consts::TAU;
        for j in 0..n {
            let v = j as f32 / n as f32 * std::f32::consts::TAU;
            let r = big + small * v.cos();
            p.push([r * u.cos(), r * u.sin(), small * v.sin()]);
        }
    }
    let idx = |i: usize, j: usize| ((i % n) * n + (j % n)) as u32;
    let mut t = Vec::with_capacity(2 * n * n);
    for i in 0..n {
        for j in 0..n {
            t.push([idx(i, j), idx(i + 1, j), idx(i + 1, j + 1)]);
            t.push([idx(i, j), idx(i + 1, j + 1), idx(i, j + 1)]);
        }
    }
    (p, t)
}

fn binary_stl(p: &[[f32; 3]], t: &[[u32; 3]]) -> Vec<u8> {
    let mut v = vec![0u8; 80];
    v.extend_from_slice(&(t.len() as u32).to_le_bytes());
    for tri in t {
        v.extend_from_slice(&[0u8; 12]);
        for &i in tri {
            for c in p[i as usize] {
                v.extend_from_slice(&c.to_le_bytes());
            }
        }
        v.extend_from_slice(&[0u8; 2]);
    }
    v
}

fn ascii_stl(p: &[[f32; 3]], t: &[[u32; 3]]) -> Vec<u8> {
    let mut s = String::from("solid torus\n");
    for tri in t {
        s.push_str("  facet normal 0 0 0\n    outer loop\n");
        for &i in tri {
            let q = p[i as usize];
            let _ = writeln!(s, "      vertex {:e} {:e} {:e}", q[0], q[1], q[2]);
        }
        s.push_str("    endloop\n  endfacet\n");
    }
    s.push_str("endsolid torus\n");
    s.into_bytes()
}

fn obj(p: &[[f32; 3]], t: &[[u32; 3]]) -> Vec<u8> {
    let mut s = String::new();
    for q in p {
        let _ = writeln!(s, "v {} {} {}", q[0], q[1], q[2]);
    }
    for tri in t {
        let _ = writeln!(s, "f {} {} {}", tri[0] + 1, tri[1] + 1, tri[2] + 1);
    }
    s.into_bytes()
}

fn ply_binary(p: &[[f32; 3]], t: &[[u32; 3]]) -> Vec<u8> {
    let mut v = format!(
        "ply\nformat binary_little_endian 1.0\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n",
        p.len(),
        t.len()
    )
    .into_bytes();
    for q in p {
        for c in q {
            v.extend_from_slice(&c.to_le_bytes());
        }
    }
    for tri in t {
        v.push(3);
        for &i in tri {
            v.extend_from_slice(&(i as i32).to_le_bytes());
        }
    }
    v
}

/// Best of `n` runs.
fn best<T>(n: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..n)
        .map(|_| {
            let s = Instant::now();
            black_box(f());
            s.elapsed()
        })
        .min()
        .unwrap()
}

fn hwm_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let limits = Limits::default();
    let (p, t) = torus(800);
    let stl = binary_stl(&p, &t);
    let n = t.len() as f64;
    let mb = stl.len() as f64 / 1e6;
    println!("binary STL: {} triangles, {:.1} MB", t.len(), mb);
    if let Ok(path) = std::env::var("DENTEX_BENCH_WRITE_STL") {
        std::fs::write(&path, &stl).unwrap();
        println!("wrote {path} for side-by-side runs");
    }

    // Baseline: touch every byte once (sum as f32 words).
    let raw = best(5, || {
        stl[84..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .sum::<f32>()
    });
    let parse = best(5, || read(&stl, &limits).unwrap());
    let stats = best(5, || dentex_mesh::binary_stats(&stl).unwrap());
    let (_, mesh) = read(&stl, &limits).unwrap();
    let analysis = best(3, || analyze(&mesh));
    let full = best(3, || analyze(&read(&stl, &limits).unwrap().1));
    let thumb = best(3, || dentex_mesh::thumbnail::render(&mesh, 512).unwrap());

    // Peak memory of read + analysis, over the input bytes already held.
    std::fs::write("/proc/self/clear_refs", "5").ok();
    let before = hwm_bytes();
    let r = analyze(&read(&stl, &limits).unwrap().1);
    let peak = hwm_bytes().saturating_sub(before);
    assert!(r.watertight && r.bodies == 1);

    println!("{:<44}{:>12}", "what", "figure");
    println!(
        "{:<44}{:>9.2} GB/s",
        "read every byte once (baseline)",
        stl.len() as f64 / raw.as_secs_f64() / 1e9
    );
    println!(
        "{:<44}{:>9.2} GB/s",
        "parse binary STL",
        stl.len() as f64 / parse.as_secs_f64() / 1e9
    );
    println!(
        "{:<44}{:>9.2} GB/s ({:.0} % of baseline)",
        "streaming stats (bounds, area, volume)",
        stl.len() as f64 / stats.as_secs_f64() / 1e9,
        raw.as_secs_f64() / stats.as_secs_f64() * 100.0
    );
    println!(
        "{:<44}{:>9.2} M tri/s",
        "analysis (merge, edges, bodies, stats)",
        n / analysis.as_secs_f64() / 1e6
    );
    println!(
        "{:<44}{:>9.2} M tri/s",
        "parse + analysis",
        n / full.as_secs_f64() / 1e6
    );
    println!(
        "{:<44}{:>9.1} ms",
        "parse + analysis, 1.28 M triangles",
        full.as_secs_f64() * 1e3
    );
    println!("{:<44}{:>9.1} ms", "thumbnail 512 px", thumb.as_secs_f64() * 1e3);
    println!(
        "{:<44}{:>9.1} B/tri",
        "peak memory growth, parse + analysis",
        peak as f64 / n
    );

    let (sp, st) = torus(300);
    for (name, bytes) in [
        ("ASCII STL", ascii_stl(&sp, &st)),
        ("OBJ", obj(&sp, &st)),
        ("PLY binary", ply_binary(&sp, &st)),
    ] {
        let d = best(3, || read(&bytes, &limits).unwrap());
        println!(
            "{:<44}{:>9.0} MB/s",
            format!("parse {name} ({:.1} MB)", bytes.len() as f64 / 1e6),
            bytes.len() as f64 / d.as_secs_f64() / 1e6
        );
    }
}
