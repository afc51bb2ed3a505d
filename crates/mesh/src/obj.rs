//! Wavefront OBJ: `v` and `f` (with `v/vt/vn`, `v//vn`, negative indices),
//! polygons fan-triangulated, lines continued with `\`, everything else
//! (texture coordinates, normals, groups, materials) ignored.

use crate::{Limits, Mesh, MeshError, lines, parse_f32};

pub fn looks_like_obj(data: &[u8]) -> bool {
    let head = &data[..data.len().min(64 * 1024)];
    if head.contains(&0) {
        return false;
    }
    head.split(|&b| b == b'\n').any(|l| {
        let l = l.trim_ascii_start();
        l.starts_with(b"v ") || l.starts_with(b"v\t") || l.starts_with(b"f ") || l.starts_with(b"f\t")
    })
}

pub fn read(data: &[u8], limits: &Limits) -> Result<Mesh, MeshError> {
    let mut mesh = Mesh::default();
    // Faces may name vertices defined later: positive indices are checked at the end.
    let mut pending: Vec<(u64, [i64; 3])> = Vec::new();
    let mut logical: Vec<u8> = Vec::new();
    let mut start_line = 0;
    let mut poly: Vec<i64> = Vec::with_capacity(8);
    for l in lines(data, limits.max_line_bytes) {
        let (line, text) = l?;
        if logical.is_empty() {
            start_line = line;
        }
        if let Some(cont) = text.strip_suffix(b"\\") {
            logical.extend_from_slice(cont);
            logical.push(b' ');
            if logical.len() > limits.max_line_bytes {
                return Err(MeshError::LineTooLong {
                    line,
                    limit: limits.max_line_bytes,
                });
            }
            continue;
        }
        logical.extend_from_slice(text);
        let line_no = start_line;
        let mut toks = logical.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
        match toks.next() {
            Some(b"v") => mesh.positions.push(vertex(toks, line_no)?),
            Some(b"f") => {
                face(toks, mesh.positions.len() as i64, line_no, &mut poly)?;
                // Faces of fewer than three vertices are skipped, as other readers do.
                for k in 1..poly.len().saturating_sub(1) {
                    pending.push((line_no, [poly[0], poly[k], poly[k + 1]]));
                }
                if pending.len() as u64 > limits.max_triangles {
                    return Err(MeshError::TooManyTriangles {
                        limit: limits.max_triangles,
                    });
                }
            }
            _ => {}
        }
        logical.clear();
    }
    resolve(mesh, pending)
}

/// The three coordinates of a `v` line (`toks` after the `v`); any beyond
/// them (a weight, colours) are ignored.
#[inline]
fn vertex<'t>(mut toks: impl Iterator<Item = &'t [u8]>, line_no: u64) -> Result<[f32; 3], MeshError> {
    let mut p = [0f32; 3];
    for slot in &mut p {
        let t = toks.next().ok_or_else(|| MeshError::Syntax {
            line: line_no,
            message: "`v` needs three coordinates".into(),
        })?;
        *slot = parse_f32(t, line_no)?;
    }
    Ok(p)
}

/// The vertices of an `f` line (`toks` after the `f`) into `poly`, as
/// 0-based indices: relative ones resolved against the `defined` vertices so
/// far, absolute ones left to be range-checked at the end.
#[inline]
fn face<'t>(
    toks: impl Iterator<Item = &'t [u8]>,
    defined: i64,
    line_no: u64,
    poly: &mut Vec<i64>,
) -> Result<(), MeshError> {
    poly.clear();
    for t in toks {
        poly.push(vertex_index(t, defined, line_no)?);
    }
    Ok(())
}

/// One face token (`v`, `v/vt`, `v//vn`, `v/vt/vn`): its vertex, 0-based.
#[inline]
fn vertex_index(t: &[u8], defined: i64, line_no: u64) -> Result<i64, MeshError> {
    let first = t.split(|&b| b == b'/').next().unwrap_or(t);
    let idx: i64 = std::str::from_utf8(first)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| MeshError::Syntax {
            line: line_no,
            message: format!("{:?} is not a vertex index", String::from_utf8_lossy(t)),
        })?;
    if idx < 0 {
        let r = defined + idx;
        if r < 0 {
            return Err(MeshError::Syntax {
                line: line_no,
                message: format!("index {idx} reaches before the first vertex"),
            });
        }
        Ok(r)
    } else if idx == 0 {
        Err(MeshError::Syntax {
            line: line_no,
            message: "vertex indices start at 1".into(),
        })
    } else {
        Ok(idx - 1)
    }
}

/// Checks every pending triangle (with the line of its face) against the
/// vertices the file defined, and adds it to `mesh`.
fn resolve(mut mesh: Mesh, pending: Vec<(u64, [i64; 3])>) -> Result<Mesh, MeshError> {
    let n = mesh.positions.len() as i64;
    mesh.triangles.reserve(pending.len());
    for (line, t) in pending {
        if let Some(bad) = t.iter().find(|&&i| i >= n) {
            return Err(MeshError::Syntax {
                line,
                message: format!("vertex index {} is out of range: there are {n} vertices", bad + 1),
            });
        }
        mesh.triangles.push([t[0] as u32, t[1] as u32, t[2] as u32]);
    }
    Ok(mesh)
}

/// Looks for a face line (`f …`) in an OBJ fed in pieces of any size, so an
/// upload can be told apart from one with no faces while it streams.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaceScan {
    /// 0: at the start of a line (after blanks); 1: after `f` there; 2: elsewhere.
    state: u8,
    found: bool,
}

impl FaceScan {
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.found {
            return;
        }
        for &b in bytes {
            self.state = match (self.state, b) {
                (_, b'\n') => 0,
                (0, b' ' | b'\t' | b'\r') => 0,
                (0, b'f') => 1,
                (1, b' ' | b'\t') => {
                    self.found = true;
                    return;
                }
                _ => 2,
            };
        }
    }

    pub fn found(&self) -> bool {
        self.found
    }
}
