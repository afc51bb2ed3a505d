//! The first analysis, kept as the reference the fast one is checked against:
//! a hash map merge on an absolute grid, a sorted edge list and union-find,
//! written for clarity. Returns (vertices, watertight, winding, bodies,
//! degenerate) for a mesh.

use dentex_mesh::Mesh;
use std::collections::HashMap;

#[derive(Debug, PartialEq, Eq)]
pub struct Topology {
    pub vertices: u64,
    pub watertight: bool,
    pub winding_consistent: bool,
    pub bodies: u64,
    pub degenerate_triangles: u64,
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn f64s(p: [f32; 3]) -> [f64; 3] {
    [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

pub fn topology(mesh: &Mesh) -> Topology {
    let tris = &mesh.triangles;
    let pos = &mesh.positions;
    // Bounds of the vertices in use.
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for t in tris {
        for &i in t {
            let p = f64s(pos[i as usize]);
            for c in 0..3 {
                lo[c] = lo[c].min(p[c]);
                hi[c] = hi[c].max(p[c]);
            }
        }
    }
    if tris.is_empty() {
        lo = [0.0; 3];
        hi = [0.0; 3];
    }
    let extent = (0..3).map(|c| hi[c] - lo[c]).fold(0.0, f64::max);
    let eps = (extent * 1e-9).max(1e-12);

    // Merge positions onto a grid of `eps`.
    let mut remap = vec![u32::MAX; pos.len()];
    let mut grid: HashMap<[i64; 3], u32> = HashMap::new();
    let mut merged = Vec::with_capacity(tris.len() * 3);
    let mut degenerate = 0u64;
    for t in tris {
        let mut m = [0u32; 3];
        for (k, &i) in t.iter().enumerate() {
            let i = i as usize;
            if remap[i] == u32::MAX {
                let p = f64s(pos[i]);
                // Cells counted from the lower corner of the bounds.
                let key = [
                    ((p[0] - lo[0]) * (1.0 / eps) + 0.5).floor() as i64,
                    ((p[1] - lo[1]) * (1.0 / eps) + 0.5).floor() as i64,
                    ((p[2] - lo[2]) * (1.0 / eps) + 0.5).floor() as i64,
                ];
                let next = grid.len() as u32;
                remap[i] = *grid.entry(key).or_insert(next);
            }
            m[k] = remap[i];
        }
        if m[0] == m[1] || m[1] == m[2] || m[0] == m[2] {
            degenerate += 1;
        } else {
            let v = [
                f64s(pos[t[0] as usize]),
                f64s(pos[t[1] as usize]),
                f64s(pos[t[2] as usize]),
            ];
            let n = cross(sub(v[1], v[0]), sub(v[2], v[0]));
            if dot(n, n).sqrt() <= eps * extent {
                degenerate += 1;
            }
        }
        merged.push(m);
    }
    drop(remap);
    let nv = grid.len();
    drop(grid);

    // Edges: (low << 33) | (high << 1) | direction, sorted so equal edges meet.
    let mut edges: Vec<u64> = Vec::with_capacity(merged.len() * 3);
    let mut parent: Vec<u32> = (0..nv as u32).collect();
    for m in &merged {
        for (a, b) in [(m[0], m[1]), (m[1], m[2]), (m[2], m[0])] {
            let (l, h) = if a <= b { (a, b) } else { (b, a) };
            edges.push((u64::from(l) << 33) | (u64::from(h) << 1) | u64::from(a > b));
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra as usize] = rb;
            }
        }
    }
    edges.sort_unstable();
    let mut watertight = !edges.is_empty();
    let mut winding = !edges.is_empty();
    let mut i = 0;
    while i < edges.len() {
        let key = edges[i] >> 1;
        let mut j = i + 1;
        while j < edges.len() && edges[j] >> 1 == key {
            j += 1;
        }
        if j - i == 2 {
            let self_loop = (key >> 32) == (key & 0xFFFF_FFFF);
            if !self_loop && (edges[i] & 1) == (edges[i + 1] & 1) {
                winding = false;
            }
        } else {
            watertight = false;
        }
        i = j;
    }
    let bodies = (0..nv as u32).filter(|&v| find(&mut parent, v) == v).count() as u64;

    Topology {
        vertices: nv as u64,
        watertight,
        winding_consistent: winding,
        bodies,
        degenerate_triangles: degenerate,
    }
}
