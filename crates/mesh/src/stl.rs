//! STL, binary and ASCII.

use crate::{Limits, Mesh, MeshError, lines, parse_f32};

/// A binary STL is exactly 84 + 50·n bytes for the n its header declares; one
/// stray trailing byte is tolerated (some exporters write it).
pub fn binary_size_matches(data: &[u8]) -> bool {
    if data.len() < 84 {
        return false;
    }
    let n = u32::from_le_bytes([data[80], data[81], data[82], data[83]]) as u64;
    let want = 84 + 50 * n;
    let len = data.len() as u64;
    len == want || len == want + 1
}

/// The triangle records (50 bytes each) of a binary STL whose size matches
/// its count and whose count is within the limit.
pub fn binary_records<'a>(data: &'a [u8], limits: &Limits) -> Result<&'a [u8], MeshError> {
    if data.len() as u64 > limits.max_bytes {
        return Err(MeshError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    if !binary_size_matches(data) {
        return Err(MeshError::Binary {
            offset: 80,
            message: "the triangle count does not match the file size (84 + 50 bytes per triangle)".into(),
        });
    }
    let n = (data.len() - 84) / 50;
    if n as u64 > limits.max_triangles {
        return Err(MeshError::TooManyTriangles {
            limit: limits.max_triangles,
        });
    }
    Ok(&data[84..84 + n * 50])
}

/// The three corners of a 50-byte binary STL record.
#[inline]
pub(crate) fn record_corners(r: &[u8]) -> [[f32; 3]; 3] {
    // A slice of known length, so the reads below need no checks.
    let r = &r[12..48];
    let f = |o: usize| f32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
    [[f(0), f(4), f(8)], [f(12), f(16), f(20)], [f(24), f(28), f(32)]]
}

pub(crate) fn not_finite(triangle: usize) -> MeshError {
    MeshError::Binary {
        offset: 84 + triangle as u64 * 50,
        message: "a vertex coordinate is not a finite number".into(),
    }
}

pub fn read_binary(data: &[u8], limits: &Limits) -> Result<Mesh, MeshError> {
    // The count is bounded by the bytes actually present.
    let records = binary_records(data, limits)?;
    let n = records.len() / 50;
    let mut mesh = Mesh {
        positions: Vec::with_capacity(n * 3),
        triangles: Vec::with_capacity(n),
    };
    for (i, rec) in records.chunks_exact(50).enumerate() {
        let mut v = [[0f32; 3]; 3];
        for (k, vert) in v.iter_mut().enumerate() {
            for (c, slot) in vert.iter_mut().enumerate() {
                let o = 12 + k * 12 + c * 4;
                *slot = f32::from_le_bytes([rec[o], rec[o + 1], rec[o + 2], rec[o + 3]]);
            }
        }
        if v.iter().flatten().any(|x| !x.is_finite()) {
            return Err(not_finite(i));
        }
        let base = (i * 3) as u32;
        mesh.positions.extend_from_slice(&v);
        mesh.triangles.push([base, base + 1, base + 2]);
    }
    Ok(mesh)
}

/// ASCII STL: any number of `solid` blocks, keywords in any case, any
/// indentation, CRLF or LF, scientific notation. Facets with more than three
/// vertices are fan-triangulated; fewer than three is an error.
pub fn read_ascii(data: &[u8], limits: &Limits) -> Result<Mesh, MeshError> {
    let mut mesh = Mesh::default();
    let mut facet: Vec<[f32; 3]> = Vec::with_capacity(3);
    let mut in_facet = false;
    let mut facet_line = 0;
    for l in lines(data, limits.max_line_bytes) {
        let (line, text) = l?;
        let mut toks = text.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
        let Some(kw) = toks.next() else { continue };
        let kw = kw.to_ascii_lowercase();
        match kw.as_slice() {
            b"facet" => {
                in_facet = true;
                facet_line = line;
                facet.clear();
            }
            b"vertex" => {
                if !in_facet {
                    return Err(MeshError::Syntax {
                        line,
                        message: "`vertex` outside a facet".into(),
                    });
                }
                let mut v = [0f32; 3];
                for slot in &mut v {
                    let t = toks.next().ok_or_else(|| MeshError::Syntax {
                        line,
                        message: "`vertex` needs three coordinates".into(),
                    })?;
                    *slot = parse_f32(t, line)?;
                }
                if facet.len() >= 64 {
                    return Err(MeshError::Syntax {
                        line,
                        message: "a facet with more than 64 vertices".into(),
                    });
                }
                facet.push(v);
            }
            b"endfacet" => {
                if facet.len() < 3 {
                    return Err(MeshError::Syntax {
                        line: facet_line,
                        message: format!("a facet needs three vertices, this one has {}", facet.len()),
                    });
                }
                let base = mesh.positions.len() as u32;
                mesh.positions.extend_from_slice(&facet);
                for k in 1..facet.len() as u32 - 1 {
                    mesh.triangles.push([base, base + k, base + k + 1]);
                }
                if mesh.triangles.len() as u64 > limits.max_triangles {
                    return Err(MeshError::TooManyTriangles {
                        limit: limits.max_triangles,
                    });
                }
                in_facet = false;
            }
            _ => {}
        }
    }
    if in_facet {
        return Err(MeshError::Syntax {
            line: facet_line,
            message: "the file ends inside a facet".into(),
        });
    }
    Ok(mesh)
}

/// Bounds, area and volume of a binary STL, computed in one pass over the
/// bytes in constant memory (no mesh is built). `None` when `data` is not a
/// binary STL of the right size.
pub fn binary_stats(data: &[u8]) -> Option<crate::Stats> {
    if !binary_size_matches(data) {
        return None;
    }
    let n = (data.len() - 84) / 50;
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    let mut area = 0.0f64;
    let mut volume = 0.0f64;
    // Accumulate in f32 within a block (fast, vectorisable), in f64 across blocks.
    for block in data[84..84 + n * 50].chunks(50 * 1024) {
        let mut a = 0.0f32;
        let mut v = 0.0f32;
        for rec in block.chunks_exact(50) {
            let f = |o: usize| f32::from_le_bytes([rec[o], rec[o + 1], rec[o + 2], rec[o + 3]]);
            let p = [[f(12), f(16), f(20)], [f(24), f(28), f(32)], [f(36), f(40), f(44)]];
            for q in &p {
                for c in 0..3 {
                    lo[c] = lo[c].min(q[c]);
                    hi[c] = hi[c].max(q[c]);
                }
            }
            let e1 = [p[1][0] - p[0][0], p[1][1] - p[0][1], p[1][2] - p[0][2]];
            let e2 = [p[2][0] - p[0][0], p[2][1] - p[0][1], p[2][2] - p[0][2]];
            let cx = e1[1] * e2[2] - e1[2] * e2[1];
            let cy = e1[2] * e2[0] - e1[0] * e2[2];
            let cz = e1[0] * e2[1] - e1[1] * e2[0];
            a += (cx * cx + cy * cy + cz * cz).sqrt();
            v += cx * (p[0][0] + p[1][0] + p[2][0]);
        }
        area += f64::from(a) * 0.5;
        volume += f64::from(v) / 6.0;
    }
    if n == 0 {
        lo = [0.0; 3];
        hi = [0.0; 3];
    }
    Some(crate::Stats {
        triangles: n as u64,
        bbox_min: lo.map(f64::from),
        bbox_max: hi.map(f64::from),
        area,
        signed_volume: volume,
    })
}
