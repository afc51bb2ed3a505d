//! Inputs made here, so the figures reproduce anywhere: a torus of
//! n × n × 2 triangles in each format.

use std::fmt::Write as _;

pub fn torus(n: usize) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
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

pub fn binary_stl(p: &[[f32; 3]], t: &[[u32; 3]]) -> Vec<u8> {
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

pub fn ascii_stl(p: &[[f32; 3]], t: &[[u32; 3]]) -> Vec<u8> {
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

pub fn obj(p: &[[f32; 3]], t: &[[u32; 3]]) -> Vec<u8> {
    let mut s = String::new();
    for q in p {
        let _ = writeln!(s, "v {} {} {}", q[0], q[1], q[2]);
    }
    for tri in t {
        let _ = writeln!(s, "f {} {} {}", tri[0] + 1, tri[1] + 1, tri[2] + 1);
    }
    s.into_bytes()
}

pub fn ply_binary(p: &[[f32; 3]], t: &[[u32; 3]]) -> Vec<u8> {
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
