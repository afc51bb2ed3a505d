//! Throughput and memory of the mesh engine on a generated scan-sized mesh.
//! Run: `cargo bench -p dentex-mesh --bench mesh` (prints a table).
//! The input is made here, so the figures reproduce anywhere: a torus of
//! 800 × 800 × 2 = 1,280,000 triangles (a 64 MB binary STL, the size of a
//! full-arch scan), and ASCII STL, OBJ and binary PLY versions of a smaller one.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails loudly")]

mod common;

use common::{ascii_stl, binary_stl, obj, ply_binary, torus};
use dentex_mesh::{Limits, analyze, analyze_binary_stl, read};
use std::hint::black_box;
use std::time::{Duration, Instant};

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

/// Runs this binary again to analyse `file` one way and report the growth
/// of its peak resident memory over the file's bytes.
fn child_peak(mode: &str, file: &std::path::Path) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("DENTEX_BENCH_MEMORY", format!("{mode}:{}", file.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

fn memory_child(spec: &str) {
    let (mode, path) = spec.split_once(':').unwrap();
    if mode == "file" {
        // Analysis and preview read from the file in blocks: the process
        // holds the working set, never the file.
        let file = std::fs::File::open(path).unwrap();
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let before = hwm_bytes();
        let r = dentex_mesh::analyze_binary_stl_at(&file, &Limits::default()).unwrap();
        let png =
            dentex_mesh::thumbnail::png_triangles(r.bbox_min, r.bbox_max, 512, dentex_mesh::stl_triangles_at(&file))
                .unwrap();
        let grew = hwm_bytes().saturating_sub(before);
        assert!(r.watertight && r.bodies == 1 && !png.is_empty());
        println!("{grew}");
        return;
    }
    let data = std::fs::read(path).unwrap();
    let limits = Limits::default();
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = hwm_bytes();
    let r = match mode {
        "parse" => analyze(&read(&data, &limits).unwrap().1),
        _ => analyze_binary_stl(&data, &limits).unwrap(),
    };
    let grew = hwm_bytes().saturating_sub(before);
    assert!(r.watertight && r.bodies == 1);
    println!("{grew}");
}

fn main() {
    if let Ok(spec) = std::env::var("DENTEX_BENCH_MEMORY") {
        return memory_child(&spec);
    }
    let limits = Limits::default();
    // The text formats first: glibc raises its mmap threshold after the large
    // buffers below are freed, which makes later growing vectors (as these
    // parsers use) copy more; measured first, each parser runs as it would
    // in a fresh worker.
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
    let direct = best(3, || analyze_binary_stl(&stl, &limits).unwrap());
    // The same triangles in random order: no locality for the merge's ids.
    let mut shuffled_t = t.clone();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in (1..shuffled_t.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        shuffled_t.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    let shuffled = binary_stl(&p, &shuffled_t);
    let random_order = best(3, || analyze_binary_stl(&shuffled, &limits).unwrap());
    let thumb = best(3, || dentex_mesh::thumbnail::render(&mesh, 512).unwrap());

    // Peak memory, each measured in a fresh process that holds nothing but
    // the file's bytes: memory freed earlier in this one would be reused
    // without showing as growth.
    let file = std::env::temp_dir().join(format!("dentex-bench-{}.stl", std::process::id()));
    std::fs::write(&file, &stl).unwrap();
    let peak = child_peak("parse", &file);
    let peak_direct = child_peak("bytes", &file);
    let peak_file = child_peak("file", &file);
    let from_file = best(3, || {
        dentex_mesh::analyze_binary_stl_at(&std::fs::File::open(&file).unwrap(), &limits).unwrap()
    });

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
    println!(
        "{:<44}{:>9.2} M tri/s",
        "full analysis straight from STL bytes",
        n / direct.as_secs_f64() / 1e6
    );
    println!(
        "{:<44}{:>9.1} ms",
        "  the same, 1.28 M triangles",
        direct.as_secs_f64() * 1e3
    );
    println!(
        "{:<44}{:>9.2} M tri/s",
        "  the same, triangles in random order",
        n / random_order.as_secs_f64() / 1e6
    );
    println!("{:<44}{:>9.1} ms", "thumbnail 512 px", thumb.as_secs_f64() * 1e3);
    println!(
        "{:<44}{:>9.1} B/tri",
        "peak memory growth, parse + analysis",
        peak as f64 / n
    );
    println!(
        "{:<44}{:>9.1} B/tri",
        "peak memory growth, analysis from STL bytes",
        peak_direct as f64 / n
    );
    println!(
        "{:<44}{:>9.2} M tri/s",
        "full analysis from the file, in blocks",
        n / from_file.as_secs_f64() / 1e6
    );
    println!(
        "{:<44}{:>9.1} B/tri",
        "peak memory, analysis + preview from file",
        peak_file as f64 / n
    );
    std::fs::remove_file(&file).ok();
}
