//! The fast analysis (partitioned merge and edge census, several threads)
//! against the plain reference kept in `reference/`: the same vertices,
//! watertightness, winding, bodies and degenerate faces on every corpus file
//! and on generated meshes built to hit the hard cases (shared and repeated
//! points, near-zero coordinates, open edges, flipped and non-manifold faces,
//! several bodies, unused positions), large enough to take the threaded path.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

mod reference;

use dentex_mesh::{Limits, Mesh, analyze, analyze_binary_stl, analyze_binary_stl_at, read};
use reference::Topology;
use std::path::PathBuf;

fn fast(mesh: &Mesh) -> Topology {
    let r = analyze(mesh);
    Topology {
        vertices: r.vertices,
        watertight: r.watertight,
        winding_consistent: r.winding_consistent,
        bodies: r.bodies,
        degenerate_triangles: r.degenerate_triangles,
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A grid surface of `w`×`h` quads per body, `bodies` bodies, maybe damaged.
fn generated(seed: u64, w: u32, h: u32, bodies: u32, damage: bool) -> Mesh {
    let mut rng = Rng(seed | 1);
    let mut mesh = Mesh::default();
    for b in 0..bodies {
        let base = mesh.positions.len() as u32;
        for i in 0..=w {
            for j in 0..=h {
                // Coordinates on a lattice through zero, some nudged by far
                // less than the merge tolerance (the CAD -2.7e-16 case).
                let mut p = [i as f32 - w as f32 / 2.0, j as f32, (b * 3) as f32];
                if rng.below(8) == 0 && p[0] == 0.0 {
                    p[0] = -2.7e-16;
                }
                mesh.positions.push(p);
            }
        }
        let at = |i: u32, j: u32| base + i * (h + 1) + j;
        for i in 0..w {
            for j in 0..h {
                mesh.triangles.push([at(i, j), at(i + 1, j), at(i + 1, j + 1)]);
                mesh.triangles.push([at(i, j), at(i + 1, j + 1), at(i, j + 1)]);
            }
        }
    }
    let n = mesh.triangles.len() as u64;
    // Copies of positions (so merging matters), unused positions.
    for _ in 0..n / 10 {
        let t = rng.below(n) as usize;
        let k = rng.below(3) as usize;
        let i = mesh.triangles[t][k];
        mesh.positions.push(mesh.positions[i as usize]);
        mesh.triangles[t][k] = mesh.positions.len() as u32 - 1;
    }
    for _ in 0..5 {
        mesh.positions.push([1e3, 1e3, 1e3]);
    }
    // Damage: flips, duplicates, removals, collapsed and zero-area faces.
    for _ in 0..if damage { rng.below(20) } else { 0 } {
        let t = rng.below(n) as usize;
        match rng.below(5) {
            0 => mesh.triangles[t].swap(0, 1),
            1 => mesh.triangles.push(mesh.triangles[t]),
            2 => {
                mesh.triangles.swap_remove(t);
            }
            3 => {
                let tri = mesh.triangles[t];
                mesh.triangles.push([tri[0], tri[0], tri[1]]);
            }
            _ => {
                let tri = mesh.triangles[t];
                mesh.triangles.push([tri[0], tri[1], tri[0]]);
            }
        }
        if mesh.triangles.is_empty() {
            break;
        }
    }
    mesh
}

fn stl_bytes(mesh: &Mesh) -> Vec<u8> {
    let mut v = vec![0u8; 80];
    v.extend_from_slice(&(mesh.triangles.len() as u32).to_le_bytes());
    for t in &mesh.triangles {
        v.extend_from_slice(&[0u8; 12]);
        for &i in t {
            for c in mesh.positions[i as usize] {
                v.extend_from_slice(&c.to_le_bytes());
            }
        }
        v.extend_from_slice(&[0u8; 2]);
    }
    v
}

#[test]
fn generated_meshes_agree_with_the_reference_small_and_threaded() {
    for seed in 1..40u64 {
        // Most are small (one thread); every fifth is over 65,536 triangles.
        let (w, h, bodies) = if seed % 5 == 0 {
            (120, 150, 2)
        } else {
            (3 + seed as u32, 4, 1 + seed as u32 % 3)
        };
        let mesh = generated(seed * 0x9e37_79b9, w, h, bodies, true);
        let want = reference::topology(&mesh);
        assert_eq!(fast(&mesh), want, "seed {seed}");
        // The STL path reads the same triangles straight from bytes.
        let r = analyze_binary_stl(&stl_bytes(&mesh), &Limits::default()).unwrap();
        assert_eq!(
            (
                r.vertices,
                r.watertight,
                r.winding_consistent,
                r.bodies,
                r.degenerate_triangles
            ),
            (
                want.vertices,
                want.watertight,
                want.winding_consistent,
                want.bodies,
                want.degenerate_triangles
            ),
            "seed {seed}, from STL bytes"
        );
        // Read in blocks where it lies (here a slice: the same code reads
        // files), the report is the same to the last bit.
        let at = analyze_binary_stl_at(&stl_bytes(&mesh)[..], &Limits::default()).unwrap();
        assert_eq!(at, r, "seed {seed}, read in blocks");
    }
}

#[test]
fn reading_in_blocks_keeps_the_readers_checks() {
    // Over a block of 20,000 triangles, a NaN in the second block.
    let mut mesh = generated(11, 120, 150, 1, false);
    let bytes = stl_bytes(&mesh);
    assert!(bytes.len() > 84 + 50 * 20_000);
    assert_eq!(
        analyze_binary_stl_at(&bytes[..], &Limits::default()).unwrap(),
        analyze_binary_stl(&bytes, &Limits::default()).unwrap()
    );
    let last = mesh.triangles.last().unwrap()[0] as usize;
    mesh.positions[last][2] = f32::INFINITY;
    let bad = stl_bytes(&mesh);
    assert_eq!(
        analyze_binary_stl_at(&bad[..], &Limits::default()).unwrap_err(),
        analyze_binary_stl(&bad, &Limits::default()).unwrap_err()
    );
    assert!(analyze_binary_stl_at(&bytes[..bytes.len() - 7], &Limits::default()).is_err());
    let limits = Limits {
        max_triangles: 3,
        ..Limits::default()
    };
    assert!(matches!(
        analyze_binary_stl_at(&bytes[..], &limits),
        Err(dentex_mesh::MeshError::TooManyTriangles { limit: 3 })
    ));
}

#[test]
fn an_intact_generated_surface_is_what_it_should_be() {
    // No damage: a flat grid is open, consistently wound, one body.
    let mesh = generated(7, 40, 30, 1, false);
    let r = analyze(&mesh);
    assert_eq!(r.vertices, 41 * 31);
    assert!(!r.watertight);
    assert!(r.winding_consistent);
    assert_eq!(r.bodies, 1);
}

#[test]
fn every_corpus_file_agrees_with_the_reference() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/meshes");
    let mut checked = 0;
    for entry in walk(&dir) {
        let data = std::fs::read(&entry).unwrap();
        let Ok((format, mesh)) = read(&data, &Limits::default()) else {
            continue;
        };
        assert_eq!(fast(&mesh), reference::topology(&mesh), "{}", entry.display());
        if format == dentex_mesh::Format::StlBinary {
            let a = analyze(&mesh);
            let b = analyze_binary_stl(&data, &Limits::default()).unwrap();
            assert_eq!(a, b, "{}: mesh and bytes paths differ", entry.display());
        }
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} corpus files read");
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if !p.extension().is_some_and(|x| x == "jsonl" || x == "md") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn the_stl_path_keeps_the_readers_checks() {
    let mut mesh = generated(3, 4, 4, 1, false);
    mesh.positions[0][1] = f32::NAN;
    let bytes = stl_bytes(&mesh);
    let e = analyze_binary_stl(&bytes, &Limits::default()).unwrap_err();
    assert_eq!(e, read(&bytes, &Limits::default()).unwrap_err());
    let limits = Limits {
        max_triangles: 3,
        ..Limits::default()
    };
    assert!(matches!(
        analyze_binary_stl(&bytes, &limits),
        Err(dentex_mesh::MeshError::TooManyTriangles { limit: 3 })
    ));
    assert!(analyze_binary_stl(&bytes[..bytes.len() - 7], &Limits::default()).is_err());
}
