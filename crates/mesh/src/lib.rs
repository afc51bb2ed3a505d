//! `dentex-mesh` reads the 3D scans clinics send (STL binary and ASCII, PLY
//! ASCII and binary in either byte order, OBJ) and analyses them: counts,
//! bounds, area, volume, watertightness, winding, connected bodies, degenerate
//! faces and a unit guess fit for dental work. It is pure: no I/O beyond a byte
//! slice, no async, no framework, so it can be fuzzed and benchmarked alone.
//!
//! Readers never trust a count in a header to size an allocation: a binary STL
//! must be exactly 84 + 50·n bytes (one trailing byte tolerated), PLY counts
//! only bound loops over data that must actually be there, OBJ indices are
//! range-checked. Every failure is a typed [`MeshError`] naming the line or byte
//! offset; no input makes a reader panic. [`Limits`] bound work and memory.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

mod analysis;
mod obj;
mod ply;
mod stl;
pub mod thumbnail;
pub mod units;

pub use analysis::{Report, analyze, analyze_binary_stl, analyze_binary_stl_at};

/// A triangle mesh: positions and triangles indexing them. Polygons are
/// fan-triangulated by the readers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    pub positions: Vec<[f32; 3]>,
    pub triangles: Vec<[u32; 3]>,
}

/// What a single streaming pass gives: no merge, no topology.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stats {
    pub triangles: u64,
    pub bbox_min: [f64; 3],
    pub bbox_max: [f64; 3],
    pub area: f64,
    /// The divergence integral (the enclosed volume when the mesh is closed
    /// and consistently wound).
    pub signed_volume: f64,
}

/// Bytes at positions, as a file gives them (`std::os::unix::fs::FileExt`),
/// so that a binary STL can be analysed where it lies, a block at a time
/// and from several threads, without being read into memory whole
/// ([`analyze_binary_stl_at`]).
pub trait ReadAt: Sync {
    /// The length in bytes.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` from `offset`; an error when fewer bytes are there.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

#[cfg(unix)]
impl ReadAt for std::fs::File {
    fn len(&self) -> u64 {
        self.metadata().map_or(0, |m| m.len())
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
}

/// The triangles of a binary STL read in blocks from `file`, in order; the
/// iterator ends early at a read error (the analysis, which runs first,
/// reports those).
pub fn stl_triangles_at<R: ReadAt + ?Sized>(file: &R) -> impl Iterator<Item = [[f32; 3]; 3]> + '_ {
    const BLOCK: usize = 20_000;
    let n = (file.len().saturating_sub(84) / 50) as usize;
    let mut buf = vec![0u8; BLOCK.min(n) * 50];
    let mut t = 0usize;
    let mut block: Vec<[[f32; 3]; 3]> = Vec::with_capacity(BLOCK.min(n));
    std::iter::from_fn(move || {
        if block.is_empty() {
            if t >= n {
                return None;
            }
            let k = BLOCK.min(n - t);
            let bytes = &mut buf[..k * 50];
            file.read_exact_at(bytes, 84 + t as u64 * 50).ok()?;
            block.extend(bytes.chunks_exact(50).rev().map(stl::record_corners));
            t += k;
        }
        block.pop()
    })
}

impl ReadAt for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| std::io::ErrorKind::UnexpectedEof)?;
        let piece = self
            .get(start..start.saturating_add(buf.len()))
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(piece);
        Ok(())
    }
}

/// Bounds, area and volume of a binary STL in one pass and constant memory.
pub use stl::binary_stats;

/// Finds a face line in an OBJ that arrives in pieces.
pub use obj::FaceScan as ObjFaceScan;

/// The file formats understood, decided from content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    StlBinary,
    StlAscii,
    PlyAscii,
    PlyBinaryLittleEndian,
    PlyBinaryBigEndian,
    Obj,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeshError {
    #[error("not a mesh this reader knows: expected STL, PLY or OBJ content")]
    UnknownFormat,
    #[error("line {line}: {message}")]
    Syntax { line: u64, message: String },
    #[error("byte {offset}: {message}")]
    Binary { offset: u64, message: String },
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("more than {limit} triangles")]
    TooManyTriangles { limit: u64 },
    #[error("a line is longer than the limit of {limit} bytes (line {line})")]
    LineTooLong { line: u64, limit: usize },
    #[error("the mesh has no triangles")]
    NoTriangles,
    /// Reading the bytes failed (not the mesh's fault: worth retrying).
    #[error("reading the file failed at byte {offset}: {message}")]
    Read { offset: u64, message: String },
}

/// Hard limits, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_triangles: u64,
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 1 << 30,
            max_triangles: 20_000_000,
            max_line_bytes: 64 * 1024,
        }
    }
}

/// Decides the format from the bytes alone (never the file name).
pub fn detect(data: &[u8]) -> Option<Format> {
    if data.starts_with(b"ply\n") || data.starts_with(b"ply\r\n") {
        return ply::format_of(data);
    }
    if stl::binary_size_matches(data) {
        return Some(Format::StlBinary);
    }
    let text = skip_ws(data);
    if text.len() >= 5 && text[..5].eq_ignore_ascii_case(b"solid") && looks_like_text(data) {
        return Some(Format::StlAscii);
    }
    if obj::looks_like_obj(data) {
        return Some(Format::Obj);
    }
    None
}

/// No NUL or other control bytes (but whitespace) in the first 4 KiB: binary
/// files with a header that happens to start with "solid" are not text.
fn looks_like_text(data: &[u8]) -> bool {
    data[..data.len().min(4096)]
        .iter()
        .all(|&b| b >= 0x20 || b == b'\n' || b == b'\r' || b == b'\t' || b == 0x0c)
}

fn skip_ws(data: &[u8]) -> &[u8] {
    let n = data.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &data[n..]
}

/// Reads and analyses a mesh of any supported format; a binary STL is
/// analysed straight from its bytes (less time and memory than
/// [`read`] then [`analyze`]).
pub fn inspect(data: &[u8], limits: &Limits) -> Result<(Format, Report), MeshError> {
    if detect(data) == Some(Format::StlBinary) {
        return Ok((Format::StlBinary, analyze_binary_stl(data, limits)?));
    }
    let (format, mesh) = read(data, limits)?;
    Ok((format, analyze(&mesh)))
}

/// What the first bytes of a mesh (`head`, the whole file when `size` is no
/// larger) tell before the rest is read: an error when the header cannot be
/// read or declares no triangles. A binary STL's count and a PLY header are
/// decided here; an ASCII STL must start its first solid with a facet; an OBJ
/// read whole must have a face (a longer OBJ's faces may come after the
/// head, so its analysis decides).
pub fn preflight(head: &[u8], size: u64, format: Format, limits: &Limits) -> Result<(), MeshError> {
    let complete = size <= head.len() as u64;
    match format {
        Format::StlBinary => {
            let n = head
                .get(80..84)
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if n == 0 {
                return Err(MeshError::NoTriangles);
            }
        }
        Format::StlAscii => {
            // As the reader goes: unknown keywords and empty solids are
            // skipped; a `vertex` before any `facet` is its error. The last
            // line of a head cut short may be partial: it is left out.
            let mut lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
            if !complete {
                lines.pop();
            }
            let mut facet = false;
            for (i, l) in lines.iter().enumerate() {
                let Some(kw) = l.split(u8::is_ascii_whitespace).find(|t| !t.is_empty()) else {
                    continue;
                };
                if kw.eq_ignore_ascii_case(b"facet") {
                    facet = true;
                    break;
                }
                if kw.eq_ignore_ascii_case(b"vertex") {
                    return Err(MeshError::Syntax {
                        line: i as u64 + 1,
                        message: "`vertex` outside a facet".into(),
                    });
                }
            }
            if !facet && complete {
                return Err(MeshError::NoTriangles);
            }
        }
        Format::PlyAscii | Format::PlyBinaryLittleEndian | Format::PlyBinaryBigEndian => {
            let (vertices, faces) = ply::declared_counts(head, limits)?;
            if vertices < 3 || faces == 0 {
                return Err(MeshError::NoTriangles);
            }
        }
        Format::Obj => {
            let has_face = head.split(|&b| b == b'\n').any(|l| {
                let l = l.trim_ascii_start();
                l.starts_with(b"f ") || l.starts_with(b"f\t")
            });
            if complete && !has_face {
                return Err(MeshError::NoTriangles);
            }
        }
    }
    Ok(())
}

/// Reads a mesh of any supported format.
pub fn read(data: &[u8], limits: &Limits) -> Result<(Format, Mesh), MeshError> {
    if data.len() as u64 > limits.max_bytes {
        return Err(MeshError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let format = detect(data).ok_or(MeshError::UnknownFormat)?;
    let mesh = match format {
        Format::StlBinary => stl::read_binary(data, limits)?,
        Format::StlAscii => stl::read_ascii(data, limits)?,
        Format::PlyAscii | Format::PlyBinaryLittleEndian | Format::PlyBinaryBigEndian => ply::read(data, limits)?,
        Format::Obj => obj::read(data, limits)?,
    };
    Ok((format, mesh))
}

/// Splits text into lines (LF or CRLF), enforcing the line-length limit and
/// yielding 1-based line numbers. A line is searched for its end no further
/// than the limit, so a gigabyte without a newline fails at once.
pub(crate) fn lines(data: &[u8], max: usize) -> impl Iterator<Item = Result<(u64, &[u8]), MeshError>> {
    let mut pos = 0usize;
    let mut line = 0u64;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        line += 1;
        let Some(end) = line_end(data, pos, max) else {
            done = true;
            return Some(Err(MeshError::LineTooLong { line, limit: max }));
        };
        let raw = &data[pos..end];
        if end == data.len() {
            done = true;
        } else {
            pos = end + 1;
        }
        let l = raw.strip_suffix(b"\r").unwrap_or(raw);
        if l.len() > max {
            done = true;
            return Some(Err(MeshError::LineTooLong { line, limit: max }));
        }
        Some(Ok((line, l)))
    })
}

/// Where the line starting at `pos` ends (its newline, or the end of the
/// data), looking at most `max` + 2 bytes ahead (room for CR LF); `None`
/// when the line is longer than that.
pub(crate) fn line_end(data: &[u8], pos: usize, max: usize) -> Option<usize> {
    let rest = &data[pos.min(data.len())..];
    let window = &rest[..rest.len().min(max.saturating_add(2))];
    match window.iter().position(|&b| b == b'\n') {
        Some(i) => Some(pos + i),
        None if rest.len() == window.len() => Some(data.len()),
        None => None,
    }
}

pub(crate) fn parse_f32(tok: &[u8], line: u64) -> Result<f32, MeshError> {
    std::str::from_utf8(tok)
        .ok()
        .and_then(|s| s.parse::<f32>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| MeshError::Syntax {
            line,
            message: format!("{:?} is not a finite number", String::from_utf8_lossy(tok)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pre(data: &[u8]) -> Result<(), MeshError> {
        let format = detect(data).unwrap_or(Format::StlBinary);
        preflight(data, data.len() as u64, format, &Limits::default())
    }

    #[test]
    fn meshes_without_triangles_are_refused_before_they_are_stored() {
        // 84 bytes whose header starts with "solid": a binary STL of 0 triangles.
        let mut empty_binary = b"solid empty".to_vec();
        empty_binary.resize(84, 0);
        assert_eq!(pre(&empty_binary), Err(MeshError::NoTriangles));
        assert_eq!(pre(b"solid x\nendsolid x\n"), Err(MeshError::NoTriangles));
        assert_eq!(pre(b"solid x\n"), Err(MeshError::NoTriangles));
        assert_eq!(
            pre(b"ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n"),
            Err(MeshError::NoTriangles)
        );
        assert_eq!(pre(b"v 0 0 0\nv 1 0 0\nv 0 1 0\n"), Err(MeshError::NoTriangles));
    }

    #[test]
    fn headers_that_cannot_start_an_analysis_are_refused() {
        assert!(matches!(
            pre(b"solid x\nvertex 0 0 0\n"),
            Err(MeshError::Syntax { line: 2, .. })
        ));
        // What the reader would refuse, the check refuses.
        assert!(read(b"solid x\nvertex 0 0 0\n", &Limits::default()).is_err());
        assert!(matches!(
            pre(b"ply\nformat ascii 1.0\nelement vertex 3\n"),
            Err(MeshError::Syntax { .. })
        ));
    }

    #[test]
    fn real_meshes_pass() {
        let mut one = vec![0u8; 80];
        one.extend_from_slice(&1u32.to_le_bytes());
        one.extend_from_slice(&[0u8; 50]);
        assert_eq!(pre(&one), Ok(()));
        assert_eq!(
            pre(b"solid x\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n   vertex 0 1 0\n  endloop\n endfacet\nendsolid x\n"),
            Ok(())
        );
        assert_eq!(pre(b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"), Ok(()));
        // An empty solid first, lines the reader skips, a head cut inside a keyword.
        let tri = b"facet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\n";
        let mut two = b"solid a\nendsolid a\nsolid b\ncolor 1 0 0\n".to_vec();
        two.extend_from_slice(tri);
        two.extend_from_slice(b"endsolid b\n");
        assert!(read(&two, &Limits::default()).is_ok());
        assert_eq!(pre(&two), Ok(()));
        let cut = b"solid a\nendsolid a\nsolid b\nfac";
        assert_eq!(preflight(cut, 1 << 20, Format::StlAscii, &Limits::default()), Ok(()));
        // A longer OBJ's faces may come after the head.
        let head = b"v 0 0 0\nv 1 0 0\n";
        assert_eq!(preflight(head, 1 << 20, Format::Obj, &Limits::default()), Ok(()));
    }

    #[test]
    fn triangles_read_in_blocks_draw_the_same_preview() {
        // A flat grid of 2 × 150 × 150 = 45,000 triangles: over two blocks.
        let n = 150u32;
        let mut mesh = Mesh::default();
        for y in 0..=n {
            for x in 0..=n {
                mesh.positions.push([x as f32, y as f32, ((x * y) % 7) as f32 * 0.1]);
            }
        }
        let at = |x: u32, y: u32| y * (n + 1) + x;
        for y in 0..n {
            for x in 0..n {
                mesh.triangles.push([at(x, y), at(x + 1, y), at(x, y + 1)]);
                mesh.triangles.push([at(x + 1, y), at(x + 1, y + 1), at(x, y + 1)]);
            }
        }
        let mut stl = vec![0u8; 80];
        stl.extend_from_slice(&(mesh.triangles.len() as u32).to_le_bytes());
        for t in &mesh.triangles {
            stl.extend_from_slice(&[0u8; 12]);
            for &i in t {
                for c in mesh.positions[i as usize] {
                    stl.extend_from_slice(&c.to_le_bytes());
                }
            }
            stl.extend_from_slice(&[0u8; 2]);
        }
        let r = analyze_binary_stl_at(&stl[..], &Limits::default()).unwrap();
        assert_eq!(stl_triangles_at(&stl[..]).count(), mesh.triangles.len());
        let streamed = thumbnail::render_triangles(r.bbox_min, r.bbox_max, 64, stl_triangles_at(&stl[..])).unwrap();
        assert_eq!(streamed, thumbnail::render(&mesh, 64).unwrap());
    }

    #[test]
    fn a_face_is_found_across_pieces() {
        let obj = b"# made by hand\nv 0 0 0\nv 1 0 0\nv 0 1 0\n  f 1 2 3\n";
        for cut in 0..obj.len() {
            let mut scan = ObjFaceScan::default();
            scan.feed(&obj[..cut]);
            scan.feed(&obj[cut..]);
            assert!(scan.found(), "cut at {cut}");
        }
        let mut none = ObjFaceScan::default();
        none.feed(b"v 0 0 0\nvf 1 2\n# f 1 2 3\nfoo\n");
        assert!(!none.found());
    }
}
