//! Every corpus file, corrupted thousands of ways (truncated, bytes flipped,
//! garbage spliced in, counts rewritten): reading and analysing must return —
//! a mesh or a typed error — and never panic or run away. A cheap, always-on
//! complement to the cargo-fuzz targets in `crates/mesh/fuzz`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_mesh::{Limits, analyze, read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// xorshift: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    match rng.below(6) {
        0 => v.truncate(rng.below(v.len() + 1)),
        1 => {
            for _ in 0..1 + rng.below(16) {
                if !v.is_empty() {
                    let i = rng.below(v.len());
                    v[i] ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            let at = rng.below(v.len() + 1);
            let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            v.splice(at..at, junk);
        }
        3 => {
            // Rewrite a binary STL count or a number in a text header.
            if v.len() >= 84 {
                let c = rng.next() as u32;
                v[80..84].copy_from_slice(&c.to_le_bytes());
            }
        }
        4 => {
            // Replace a digit run with a huge number.
            if let Some(i) = (0..v.len())
                .map(|_| rng.below(v.len()))
                .find(|&i| v[i].is_ascii_digit())
            {
                v.splice(i..i + 1, b"99999999999999999999".iter().copied());
            }
        }
        _ => {
            // Duplicate a slice (repeated elements, lines, facets).
            if !v.is_empty() {
                let a = rng.below(v.len());
                let b = (a + rng.below(256)).min(v.len());
                let chunk = v[a..b].to_vec();
                let at = rng.below(v.len());
                v.splice(at..at, chunk);
            }
        }
    }
    v
}

#[test]
fn corrupted_corpus_files_never_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/meshes");
    assert!(
        dir.is_dir(),
        "the mesh corpus is in the repository at tests/fixtures/meshes"
    );
    let mut files: Vec<PathBuf> = ["trimesh", "numpy-stl"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).unwrap().flatten().map(|e| e.path()))
        .filter(|p| {
            let e = p
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            matches!(e.as_str(), "stl" | "ply" | "obj")
        })
        .filter(|p| std::fs::metadata(p).map(|m| m.len() < 300_000).unwrap_or(false))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "{}", files.len());
    let limits = Limits {
        max_triangles: 2_000_000,
        ..Limits::default()
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases = 0u64;
    let mut slowest = Duration::ZERO;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        for _ in 0..120 {
            let m = mutate(&mut rng, &data);
            let start = Instant::now();
            let outcome = std::panic::catch_unwind(|| {
                if let Ok((_, mesh)) = read(&m, &limits) {
                    let r = analyze(&mesh);
                    let _ = dentex_mesh::thumbnail::render(&mesh, 48);
                    // The path that skips building a mesh agrees with it.
                    let (_, fast) = dentex_mesh::inspect(&m, &limits).unwrap();
                    assert_eq!(
                        (fast.triangles, fast.vertices, fast.watertight, fast.bodies),
                        (r.triangles, r.vertices, r.watertight, r.bodies)
                    );
                } else {
                    assert!(dentex_mesh::inspect(&m, &limits).is_err());
                }
            });
            slowest = slowest.max(start.elapsed());
            assert!(
                outcome.is_ok(),
                "panic on a mutation of {} (seed state {:x})",
                f.display(),
                rng.0
            );
            cases += 1;
        }
    }
    eprintln!("{cases} mutated files, slowest {slowest:?}");
    assert!(slowest < Duration::from_secs(5), "a mutation took {slowest:?}");
}
