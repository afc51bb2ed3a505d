//! PLY: ASCII and binary (little and big endian), any property order and
//! scalar types, faces as lists of any length (fan-triangulated), other
//! elements and properties skipped. Header counts only bound loops over data
//! that must be present; they never size an allocation.

use crate::{Format, Limits, Mesh, MeshError};

mod source;
use source::{Ascii, Binary, Source, decode};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "char" | "int8" => Self::I8,
            "uchar" | "uint8" => Self::U8,
            "short" | "int16" => Self::I16,
            "ushort" | "uint16" => Self::U16,
            "int" | "int32" => Self::I32,
            "uint" | "uint32" => Self::U32,
            "float" | "float32" => Self::F32,
            "double" | "float64" => Self::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

#[derive(Debug, Clone)]
enum Prop {
    Scalar(String, Scalar),
    List(String, Scalar, Scalar),
}

#[derive(Debug, Clone)]
struct Element {
    name: String,
    count: u64,
    props: Vec<Prop>,
}

pub fn format_of(data: &[u8]) -> Option<Format> {
    let head = &data[..data.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    text.lines().find_map(|l| {
        let mut t = l.split_whitespace();
        (t.next() == Some("format")).then(|| match t.next() {
            Some("ascii") => Some(Format::PlyAscii),
            Some("binary_little_endian") => Some(Format::PlyBinaryLittleEndian),
            Some("binary_big_endian") => Some(Format::PlyBinaryBigEndian),
            _ => None,
        })?
    })
}

fn syntax(line: u64, m: impl Into<String>) -> MeshError {
    MeshError::Syntax {
        line,
        message: m.into(),
    }
}

/// A parsed header: the format, the elements, and where the data begins.
struct Header {
    format: Format,
    elements: Vec<Element>,
    /// Byte offset of the first data byte.
    pos: usize,
    /// Line number of `end_header`.
    line_no: u64,
}

fn header(data: &[u8], limits: &Limits) -> Result<Header, MeshError> {
    let mut pos = 0usize;
    let mut line_no = 0u64;
    let mut format = None;
    let mut elements: Vec<Element> = Vec::new();
    loop {
        line_no += 1;
        let end = crate::line_end(data, pos, limits.max_line_bytes).ok_or(MeshError::LineTooLong {
            line: line_no,
            limit: limits.max_line_bytes,
        })?;
        if end == data.len() {
            return Err(syntax(line_no, "the header does not end with `end_header`"));
        }
        let raw = &data[pos..end];
        pos = end + 1;
        let l = String::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw)).into_owned();
        let mut t = l.split_whitespace();
        match t.next() {
            Some("ply") | Some("comment") | Some("obj_info") | None => {}
            Some("format") => format = Some(header_format(t.next(), line_no)?),
            Some("element") => elements.push(header_element(t, line_no)?),
            Some("property") => {
                let el = elements
                    .last_mut()
                    .ok_or_else(|| syntax(line_no, "`property` before any `element`"))?;
                el.props.push(header_property(t, line_no)?);
            }
            Some("end_header") => break,
            Some(other) => return Err(syntax(line_no, format!("unknown header line {other:?}"))),
        }
    }
    let format = format.ok_or_else(|| syntax(line_no, "the header names no `format`"))?;
    for e in &elements {
        if e.props.is_empty() && e.count > 0 {
            return Err(syntax(line_no, format!("element {:?} has no properties", e.name)));
        }
    }
    Ok(Header {
        format,
        elements,
        pos,
        line_no,
    })
}

/// The word after `format` (its version is not checked).
fn header_format(word: Option<&str>, line_no: u64) -> Result<Format, MeshError> {
    Ok(match word {
        Some("ascii") => Format::PlyAscii,
        Some("binary_little_endian") => Format::PlyBinaryLittleEndian,
        Some("binary_big_endian") => Format::PlyBinaryBigEndian,
        other => return Err(syntax(line_no, format!("unknown PLY format {other:?}"))),
    })
}

/// `element <name> <count>` (`t` after `element`), with no properties yet.
fn header_element<'l>(mut t: impl Iterator<Item = &'l str>, line_no: u64) -> Result<Element, MeshError> {
    let name = t
        .next()
        .ok_or_else(|| syntax(line_no, "`element` needs a name"))?
        .to_owned();
    let count = t
        .next()
        .and_then(|c| c.parse::<u64>().ok())
        .ok_or_else(|| syntax(line_no, "`element` needs a count"))?;
    Ok(Element {
        name,
        count,
        props: Vec::new(),
    })
}

/// `property <type> <name>` or `property list <count type> <item type>
/// <name>` (`t` after `property`); a list's count must be an integer type.
fn header_property<'l>(mut t: impl Iterator<Item = &'l str>, line_no: u64) -> Result<Prop, MeshError> {
    let ty = t.next().ok_or_else(|| syntax(line_no, "`property` needs a type"))?;
    if ty == "list" {
        let c = t
            .next()
            .and_then(Scalar::parse)
            .ok_or_else(|| syntax(line_no, "bad list count type"))?;
        let i = t
            .next()
            .and_then(Scalar::parse)
            .ok_or_else(|| syntax(line_no, "bad list item type"))?;
        let name = t.next().ok_or_else(|| syntax(line_no, "`property` needs a name"))?;
        if matches!(c, Scalar::F32 | Scalar::F64) {
            return Err(syntax(line_no, "a list count must be an integer type"));
        }
        Ok(Prop::List(name.to_owned(), c, i))
    } else {
        let s = Scalar::parse(ty).ok_or_else(|| syntax(line_no, format!("unknown type {ty:?}")))?;
        let name = t.next().ok_or_else(|| syntax(line_no, "`property` needs a name"))?;
        Ok(Prop::Scalar(name.to_owned(), s))
    }
}

/// How many vertices and faces a PLY header declares; an error when the
/// header cannot be read (it must end within `head`).
pub fn declared_counts(head: &[u8], limits: &Limits) -> Result<(u64, u64), MeshError> {
    let h = header(head, limits)?;
    let count = |name: &str| h.elements.iter().filter(|e| e.name == name).map(|e| e.count).sum();
    Ok((count("vertex"), count("face")))
}

pub fn read(data: &[u8], limits: &Limits) -> Result<Mesh, MeshError> {
    let Header {
        format,
        elements,
        pos,
        line_no,
    } = header(data, limits)?;
    let body = &data[pos..];
    match format {
        Format::PlyAscii => read_body(
            &mut Ascii {
                data: body,
                max_line: limits.max_line_bytes,
                pos: 0,
                line: line_no + 1,
                row_end: None,
            },
            &elements,
            limits,
            line_no,
        ),
        _ => read_body(
            &mut Binary {
                data: body,
                pos: 0,
                base: pos as u64,
                big: format == Format::PlyBinaryBigEndian,
            },
            &elements,
            limits,
            line_no,
        ),
    }
}

/// Reads the elements from `src` (one concrete source per call, so every
/// value read is a direct call).
fn read_body<'a, S: Source<'a>>(
    src: &mut S,
    elements: &[Element],
    limits: &Limits,
    line_no: u64,
) -> Result<Mesh, MeshError> {
    let mut positions: Vec<[f32; 3]> = Vec::new();
    let mut faces = Faces {
        tris: Vec::new(),
        poly: Vec::with_capacity(8),
        limit: limits.max_triangles,
    };
    for e in elements {
        let is_vertex = e.name == "vertex";
        let is_face = e.name == "face";
        let xyz: [Option<usize>; 3] = ["x", "y", "z"].map(|n| {
            e.props
                .iter()
                .position(|p| matches!(p, Prop::Scalar(name, _) if name == n))
        });
        if is_vertex && xyz.iter().any(Option::is_none) {
            return Err(syntax(line_no, "the vertex element lacks x, y or z"));
        }
        if is_vertex && let Some((rows, big)) = src.fixed_rows(e)? {
            // Binary, no lists: every row has the same size; decode x, y, z in place.
            let (stride, cols) = fixed_columns(e, xyz);
            read_fixed_vertices(&*src, rows, stride, cols, big, &mut positions)?;
            continue;
        }
        // Binary faces in the usual layout (one list: uchar count, int or uint
        // indices): a tight loop straight into triangles.
        if is_face
            && let [Prop::List(name, Scalar::U8, item @ (Scalar::I32 | Scalar::U32))] = e.props.as_slice()
            && is_index_list(name)
            && let Some((data, big)) = src.rest()
        {
            read_binary_faces(src, e.count, *item == Scalar::I32, data, big, &mut faces)?;
            continue;
        }
        let xyz = if is_vertex { Some(xyz) } else { None };
        read_rows(src, e, xyz, is_face, &mut positions, &mut faces)?;
    }
    resolve(positions, faces.tris, line_no)
}

/// Whether a face's list property holds its vertices.
#[inline]
fn is_index_list(name: &str) -> bool {
    name == "vertex_indices" || name == "vertex_index"
}

/// Triangles gathered from faces, their vertex indices not yet checked;
/// `poly` is scratch for one face's list.
struct Faces {
    tris: Vec<[u64; 3]>,
    poly: Vec<u64>,
    limit: u64,
}

impl Faces {
    #[inline]
    fn check_limit(&self) -> Result<(), MeshError> {
        if self.tris.len() as u64 > self.limit {
            return Err(MeshError::TooManyTriangles { limit: self.limit });
        }
        Ok(())
    }
}

/// For an element without lists: the size of a row, and the byte offset in
/// a row and the type of each of the columns `xyz`.
fn fixed_columns(e: &Element, xyz: [Option<usize>; 3]) -> (usize, [Option<(usize, Scalar)>; 3]) {
    let size = |p: &Prop| if let Prop::Scalar(_, s) = p { s.size() } else { 0 };
    let stride: usize = e.props.iter().map(size).sum();
    let field = |k: usize| {
        let off: usize = e.props[..k].iter().map(size).sum();
        let ty = if let Prop::Scalar(_, s) = &e.props[k] {
            *s
        } else {
            Scalar::F32
        };
        (off, ty)
    };
    (stride, [xyz[0].map(field), xyz[1].map(field), xyz[2].map(field)])
}

/// Decodes the positions from `rows` of binary vertices, `stride` bytes
/// each, at the columns [`fixed_columns`] found.
#[inline]
fn read_fixed_vertices<'a, S: Source<'a>>(
    src: &S,
    rows: &[u8],
    stride: usize,
    cols: [Option<(usize, Scalar)>; 3],
    big: bool,
    positions: &mut Vec<[f32; 3]>,
) -> Result<(), MeshError> {
    positions.reserve(rows.len() / stride.max(1));
    for row in rows.chunks_exact(stride) {
        let mut p = [0f32; 3];
        for (c, col) in cols.iter().enumerate() {
            if let Some((off, ty)) = col {
                let v = decode(*ty, &row[*off..*off + ty.size()], big);
                if !v.is_finite() {
                    return Err(src.error("a vertex coordinate is not a finite number"));
                }
                p[c] = v as f32;
            }
        }
        positions.push(p);
    }
    Ok(())
}

/// Reads `count` binary faces laid out as a uchar count and 4-byte indices
/// (`signed`: `int`, else `uint`) from `data`, the bytes `src` has not read
/// yet, and marks what was read as read.
#[inline]
fn read_binary_faces<'a, S: Source<'a>>(
    src: &mut S,
    count: u64,
    signed: bool,
    data: &[u8],
    big: bool,
    faces: &mut Faces,
) -> Result<(), MeshError> {
    let word = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    let mut at = 0usize;
    for _ in 0..count {
        let Some(&k) = data.get(at) else {
            src.skip(at);
            return Err(src.error("the data ends before the header's counts are met"));
        };
        let k = usize::from(k);
        let Some(idx) = data.get(at + 1..at + 1 + 4 * k) else {
            src.skip(at);
            return Err(src.error("the data ends inside a face"));
        };
        let v = |j: usize| u64::from(word(&idx[4 * j..4 * j + 4]));
        if signed && (0..k).any(|j| v(j) > i32::MAX as u64) {
            src.skip(at);
            return Err(src.error("a vertex index must be a whole number ≥ 0"));
        }
        for j in 1..k.saturating_sub(1) {
            faces.tris.push([v(0), v(j), v(j + 1)]);
        }
        at += 1 + 4 * k;
        faces.check_limit()?;
    }
    src.skip(at);
    Ok(())
}

/// Reads the rows of `e` value by value: the vertices' positions when `xyz`
/// (the columns of x, y, z) is given, the faces' triangles when `is_face`;
/// everything else is read and dropped.
#[inline]
fn read_rows<'a, S: Source<'a>>(
    src: &mut S,
    e: &Element,
    xyz: Option<[Option<usize>; 3]>,
    is_face: bool,
    positions: &mut Vec<[f32; 3]>,
    faces: &mut Faces,
) -> Result<(), MeshError> {
    for _ in 0..e.count {
        src.start_row()?;
        let mut p = [0f32; 3];
        for (k, prop) in e.props.iter().enumerate() {
            match prop {
                Prop::Scalar(_, s) => {
                    let v = src.read(*s)?;
                    if let Some(xyz) = &xyz
                        && let Some(c) = xyz.iter().position(|x| *x == Some(k))
                    {
                        if !v.is_finite() {
                            return Err(src.error("a vertex coordinate is not a finite number"));
                        }
                        p[c] = v as f32;
                    }
                }
                Prop::List(name, c, item) => {
                    read_list(src, *c, *item, is_face && is_index_list(name), faces)?;
                }
            }
        }
        if xyz.is_some() {
            positions.push(p);
        }
    }
    Ok(())
}

/// Reads one list value (its `count`, then its items); when `wanted` (a
/// face's vertices) it becomes triangles, fan-wise.
#[inline]
fn read_list<'a, S: Source<'a>>(
    src: &mut S,
    count: Scalar,
    item: Scalar,
    wanted: bool,
    faces: &mut Faces,
) -> Result<(), MeshError> {
    let n = src.read(count)?;
    if !(0.0..=f64::from(u32::MAX)).contains(&n) {
        return Err(src.error("a negative or huge list length"));
    }
    let n = n as u64;
    faces.poly.clear();
    for _ in 0..n {
        let v = src.read(item)?;
        if wanted {
            if v < 0.0 || v.fract() != 0.0 {
                return Err(src.error("a vertex index must be a whole number ≥ 0"));
            }
            faces.poly.push(v as u64);
        }
    }
    if wanted {
        let poly = &faces.poly;
        for k in 1..poly.len().saturating_sub(1) {
            faces.tris.push([poly[0], poly[k], poly[k + 1]]);
        }
        faces.check_limit()?;
    }
    Ok(())
}

/// The mesh, once every face index is checked against the vertices read.
fn resolve(positions: Vec<[f32; 3]>, faces: Vec<[u64; 3]>, line_no: u64) -> Result<Mesh, MeshError> {
    let n = positions.len() as u64;
    let mut triangles = Vec::with_capacity(faces.len());
    for f in faces {
        if let Some(bad) = f.iter().find(|&&i| i >= n) {
            return Err(syntax(
                line_no,
                format!("face index {bad} is out of range: there are {n} vertices"),
            ));
        }
        triangles.push([f[0] as u32, f[1] as u32, f[2] as u32]);
    }
    Ok(Mesh { positions, triangles })
}
