//! Statistics, then the topology: vertices merged on a grid scaled to the
//! model (so CAD exports with -2.7e-16 beside 0.0 close up), edges counted,
//! bodies by union-find.
//!
//! Built for scan-sized input (millions of triangles) on a few cores:
//! - Statistics are summed over fixed chunks, so the figures do not depend on
//!   the number of threads.
//! - The merge and the edge census never probe one big hash table (a cache
//!   miss per lookup): points and edges are first scattered into partitions
//!   by the top bits of their hash, then each partition is deduplicated with a
//!   table small enough to stay in the core's cache. Partitions are spread
//!   over the threads; nothing is shared but read-only input and the id array.
//! - A binary STL is analysed straight from its bytes ([`analyze_binary_stl`]):
//!   no mesh of three positions per triangle is built first.

use crate::units::{self, Guess};
use crate::{Limits, Mesh, MeshError};
use serde::Serialize;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub triangles: u64,
    /// Distinct positions used by triangles, after merging.
    pub vertices: u64,
    pub bbox_min: [f64; 3],
    pub bbox_max: [f64; 3],
    pub area: f64,
    /// Enclosed volume, only when the mesh is watertight.
    pub volume: Option<f64>,
    /// The signed volume integral, also for open meshes (negative when the
    /// normals point inwards).
    pub signed_volume: f64,
    /// Every edge is shared by exactly two triangles.
    pub watertight: bool,
    /// Every edge shared by two triangles is used once in each direction.
    pub winding_consistent: bool,
    /// Connected pieces.
    pub bodies: u64,
    /// Triangles with a repeated vertex or no area.
    pub degenerate_triangles: u64,
    /// The tolerance used to merge vertices, in file units.
    pub merge_tolerance: f64,
    pub units: Guess,
}

/// Where the triangles come from. `points` are what gets merged: the
/// positions of an indexed mesh, or the corners of a binary STL. Positions
/// are read in order over ranges (twice for the merge, once for the
/// statistics), so a source need not hold them: a binary STL file is read
/// in blocks ([`crate::ReadAt`]).
trait Source: Sync {
    fn triangles(&self) -> usize;
    fn points(&self) -> usize;
    /// The points triangle `t` uses.
    fn tri(&self, t: usize) -> [u32; 3];
    /// The corners of each triangle of `range`, in order.
    fn each_triangle(&self, range: Range<usize>, f: impl FnMut(usize, [[f32; 3]; 3])) -> Result<(), MeshError>;
    /// Each point of `range`, in order.
    fn each_point(&self, range: Range<usize>, f: impl FnMut(usize, [f32; 3])) -> Result<(), MeshError>;
}

struct MeshSource<'a>(&'a Mesh);

impl Source for MeshSource<'_> {
    #[inline]
    fn triangles(&self) -> usize {
        self.0.triangles.len()
    }
    #[inline]
    fn points(&self) -> usize {
        self.0.positions.len()
    }
    #[inline]
    fn tri(&self, t: usize) -> [u32; 3] {
        self.0.triangles[t]
    }
    fn each_triangle(&self, range: Range<usize>, mut f: impl FnMut(usize, [[f32; 3]; 3])) -> Result<(), MeshError> {
        for (t, tri) in range.clone().zip(&self.0.triangles[range]) {
            f(t, tri.map(|i| self.0.positions[i as usize]));
        }
        Ok(())
    }
    fn each_point(&self, range: Range<usize>, mut f: impl FnMut(usize, [f32; 3])) -> Result<(), MeshError> {
        for (i, p) in range.clone().zip(&self.0.positions[range]) {
            f(i, *p);
        }
        Ok(())
    }
}

use crate::stl::record_corners;

/// The 50-byte records of a binary STL, read in place.
struct StlSource<'a>(&'a [u8]);

impl Source for StlSource<'_> {
    #[inline]
    fn triangles(&self) -> usize {
        self.0.len() / 50
    }
    #[inline]
    fn points(&self) -> usize {
        self.triangles() * 3
    }
    #[inline]
    fn tri(&self, t: usize) -> [u32; 3] {
        let b = (t * 3) as u32;
        [b, b + 1, b + 2]
    }
    fn each_triangle(&self, range: Range<usize>, mut f: impl FnMut(usize, [[f32; 3]; 3])) -> Result<(), MeshError> {
        for (t, r) in range
            .clone()
            .zip(self.0[range.start * 50..range.end * 50].chunks_exact(50))
        {
            f(t, record_corners(r));
        }
        Ok(())
    }
    fn each_point(&self, range: Range<usize>, f: impl FnMut(usize, [f32; 3])) -> Result<(), MeshError> {
        corner_points(self, range, f)
    }
}

/// The points (corners, three a triangle) of `range`, from the triangles of
/// a source whose points are its corners.
#[inline]
fn corner_points<S: Source>(src: &S, range: Range<usize>, mut f: impl FnMut(usize, [f32; 3])) -> Result<(), MeshError> {
    if range.is_empty() {
        return Ok(());
    }
    let (first, last) = (range.start / 3, (range.end - 1) / 3);
    src.each_triangle(first..last + 1, |t, c| {
        for (k, p) in c.into_iter().enumerate() {
            let i = t * 3 + k;
            if range.contains(&i) {
                f(i, p);
            }
        }
    })
}

/// A binary STL read in blocks from a [`crate::ReadAt`]: never held whole.
struct StlAt<'a, R: crate::ReadAt + ?Sized> {
    file: &'a R,
    triangles: usize,
}

/// Triangles read at a time from a file: 1 MB.
const BLOCK_TRIANGLES: usize = 20_000;

impl<R: crate::ReadAt + ?Sized> StlAt<'_, R> {
    fn blocks(&self, range: Range<usize>, mut f: impl FnMut(usize, [[f32; 3]; 3])) -> Result<(), MeshError> {
        let mut buf = vec![0u8; BLOCK_TRIANGLES.min(range.len()) * 50];
        let mut t = range.start;
        while t < range.end {
            let n = BLOCK_TRIANGLES.min(range.end - t);
            let bytes = &mut buf[..n * 50];
            let offset = 84 + t as u64 * 50;
            self.file.read_exact_at(bytes, offset).map_err(|e| MeshError::Read {
                offset,
                message: e.to_string(),
            })?;
            for (k, r) in bytes.chunks_exact(50).enumerate() {
                f(t + k, record_corners(r));
            }
            t += n;
        }
        Ok(())
    }
}

impl<R: crate::ReadAt + ?Sized> Source for StlAt<'_, R> {
    #[inline]
    fn triangles(&self) -> usize {
        self.triangles
    }
    #[inline]
    fn points(&self) -> usize {
        self.triangles * 3
    }
    #[inline]
    fn tri(&self, t: usize) -> [u32; 3] {
        let b = (t * 3) as u32;
        [b, b + 1, b + 2]
    }
    fn each_triangle(&self, range: Range<usize>, f: impl FnMut(usize, [[f32; 3]; 3])) -> Result<(), MeshError> {
        self.blocks(range, f)
    }
    fn each_point(&self, range: Range<usize>, f: impl FnMut(usize, [f32; 3])) -> Result<(), MeshError> {
        corner_points(self, range, f)
    }
}

mod kernels;
use kernels::*;

struct Sums {
    /// The first triangle with a coordinate that is not finite.
    bad: Option<usize>,
    /// Each triangle's doubled area, in order.
    norms: Vec<f32>,
    lo: [f32; 3],
    hi: [f32; 3],
    area: f64,
    signed: f64,
}

/// Bounds, area and signed volume, summed over fixed chunks; and the first
/// triangle with a coordinate that is not finite.
fn statistics<S: Source>(src: &S, threads: usize) -> Result<(Sums, Option<usize>), MeshError> {
    let tris = src.triangles();
    let parts = map_chunks(tris, 1 << 15, threads, |range| {
        let mut s = Sums {
            bad: None,
            norms: Vec::with_capacity(range.len()),
            lo: [f32::INFINITY; 3],
            hi: [f32::NEG_INFINITY; 3],
            area: 0.0,
            signed: 0.0,
        };
        src.each_triangle(range, |t, v| {
            if s.bad.is_none() && v.iter().flatten().any(|x| !x.is_finite()) {
                s.bad = Some(t);
            }
            for p in &v {
                for (c, &x) in p.iter().enumerate() {
                    s.lo[c] = s.lo[c].min(x);
                    s.hi[c] = s.hi[c].max(x);
                }
            }
            let n = normal(&v);
            let norm = dot(n, n).sqrt();
            s.norms.push(norm as f32);
            s.area += 0.5 * norm;
            // Divergence theorem with F = (x, 0, 0), as trimesh's mass
            // properties do: for a closed, consistently wound mesh it equals
            // the sum of signed tetrahedra; for other meshes the two differ,
            // and this one is the figure other tools report.
            s.signed += n[0] * (f64::from(v[0][0]) + f64::from(v[1][0]) + f64::from(v[2][0])) / 6.0;
        })
        .map(|()| s)
    });
    let parts = parts.into_iter().collect::<Result<Vec<Sums>, MeshError>>()?;
    let mut all = Sums {
        bad: None,
        norms: Vec::with_capacity(tris),
        lo: [f32::INFINITY; 3],
        hi: [f32::NEG_INFINITY; 3],
        area: 0.0,
        signed: 0.0,
    };
    for s in &parts {
        all.norms.extend_from_slice(&s.norms);
        for c in 0..3 {
            all.lo[c] = all.lo[c].min(s.lo[c]);
            all.hi[c] = all.hi[c].max(s.hi[c]);
        }
        all.area += s.area;
        all.signed += s.signed;
    }
    if tris == 0 {
        all.lo = [0.0; 3];
        all.hi = [0.0; 3];
    }
    let bad = parts.iter().find_map(|s| s.bad);
    Ok((all, bad))
}

fn topology<S: Source>(src: &S, sums: &Sums, threads: usize) -> Result<Report, MeshError> {
    let tris = src.triangles();
    let (lo, hi) = (sums.lo.map(f64::from), sums.hi.map(f64::from));
    let (area, signed) = (sums.area, sums.signed);
    let extent = (0..3).map(|c| hi[c] - lo[c]).fold(0.0, f64::max);
    let eps = (extent * 1e-9).max(1e-12);

    let (ids, count) = merge(src, lo, eps, threads)?;
    // Ids are packed in 31 bits by the edge census; no input the readers
    // accept comes near (it would take over 700 million triangles).
    let (vertices, bodies, degenerate, watertight, winding) = if count >= 1 << 31 {
        (count as u64, 0, 0, false, false)
    } else if threads > 1 {
        // Union-find is sequential; the census runs beside it.
        let (b, e) = std::thread::scope(|s| {
            let uf = s.spawn(|| bodies(src, &ids, count, eps * extent, &sums.norms));
            let e = edge_census(src, &ids, count);
            (uf.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), e)
        });
        let b = b?;
        (b.0, b.1, b.2, e.0, e.1)
    } else {
        let b = bodies(src, &ids, count, eps * extent, &sums.norms)?;
        let e = edge_census(src, &ids, count);
        (b.0, b.1, b.2, e.0, e.1)
    };

    Ok(Report {
        triangles: tris as u64,
        vertices,
        bbox_min: lo,
        bbox_max: hi,
        area,
        volume: watertight.then_some(signed),
        signed_volume: signed,
        watertight,
        winding_consistent: winding,
        bodies,
        degenerate_triangles: degenerate,
        merge_tolerance: eps,
        units: units::guess(extent),
    })
}

/// The full analysis of a mesh.
///
/// The readers only produce finite coordinates; a mesh built by hand with a
/// NaN or an infinity gets a report of NaNs for its bounds, area and volume.
pub fn analyze(mesh: &Mesh) -> Report {
    let src = MeshSource(mesh);
    let threads = threads_for(src.triangles());
    // An indexed mesh in memory never fails to be read.
    match statistics(&src, threads).and_then(|(sums, _)| topology(&src, &sums, threads)) {
        Ok(r) => r,
        Err(e) => unreachable_report(&e),
    }
}

/// What [`analyze`] answers if reading memory ever failed (it cannot).
fn unreachable_report(e: &MeshError) -> Report {
    let nan = [f64::NAN; 3];
    let mut units = units::guess(0.0);
    units.reason = e.to_string();
    Report {
        triangles: 0,
        vertices: 0,
        bbox_min: nan,
        bbox_max: nan,
        area: f64::NAN,
        volume: None,
        signed_volume: f64::NAN,
        watertight: false,
        winding_consistent: false,
        bodies: 0,
        degenerate_triangles: 0,
        merge_tolerance: f64::NAN,
        units,
    }
}

/// The full analysis of a binary STL straight from its bytes, with the checks
/// and limits of [`crate::read`]: no mesh is built, so it needs about a third
/// less memory and time than reading then analysing.
pub fn analyze_binary_stl(data: &[u8], limits: &Limits) -> Result<Report, MeshError> {
    let records = crate::stl::binary_records(data, limits)?;
    analyze_source(&StlSource(records))
}

/// [`analyze_binary_stl`] of a file read in blocks where it lies (several
/// threads at once), never held whole: the memory is the analysis's own,
/// about 21 bytes a corner at its peak (the merge), and the file's pages
/// stay in the page cache, not in the process.
pub fn analyze_binary_stl_at<R: crate::ReadAt + ?Sized>(file: &R, limits: &Limits) -> Result<Report, MeshError> {
    let len = file.len();
    if len > limits.max_bytes {
        return Err(MeshError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let mut head = [0u8; 84];
    if len < 84 || file.read_exact_at(&mut head, 0).is_err() {
        return Err(MeshError::Binary {
            offset: 0,
            message: "shorter than a binary STL header".into(),
        });
    }
    let n = u64::from(u32::from_le_bytes([head[80], head[81], head[82], head[83]]));
    if len != 84 + 50 * n && len != 85 + 50 * n {
        return Err(MeshError::Binary {
            offset: 80,
            message: "the triangle count does not match the file size (84 + 50 bytes per triangle)".into(),
        });
    }
    if n > limits.max_triangles {
        return Err(MeshError::TooManyTriangles {
            limit: limits.max_triangles,
        });
    }
    analyze_source(&StlAt {
        file,
        triangles: usize::try_from(n).map_err(|_| MeshError::TooManyTriangles {
            limit: limits.max_triangles,
        })?,
    })
}

fn analyze_source<S: Source>(src: &S) -> Result<Report, MeshError> {
    let threads = threads_for(src.triangles());
    match statistics(src, threads)? {
        (_, Some(t)) => Err(crate::stl::not_finite(t)),
        (sums, None) => topology(src, &sums, threads),
    }
}
