//! PLY: ASCII and binary (little and big endian), any property order and
//! scalar types, faces as lists of any length (fan-triangulated), other
//! elements and properties skipped. Header counts only bound loops over data
//! that must be present; they never size an allocation.

use crate::{Format, Limits, Mesh, MeshError};

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
    // Header.
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
            Some("format") => {
                format = Some(match t.next() {
                    Some("ascii") => Format::PlyAscii,
                    Some("binary_little_endian") => Format::PlyBinaryLittleEndian,
                    Some("binary_big_endian") => Format::PlyBinaryBigEndian,
                    other => return Err(syntax(line_no, format!("unknown PLY format {other:?}"))),
                });
            }
            Some("element") => {
                let name = t
                    .next()
                    .ok_or_else(|| syntax(line_no, "`element` needs a name"))?
                    .to_owned();
                let count = t
                    .next()
                    .and_then(|c| c.parse::<u64>().ok())
                    .ok_or_else(|| syntax(line_no, "`element` needs a count"))?;
                elements.push(Element {
                    name,
                    count,
                    props: Vec::new(),
                });
            }
            Some("property") => {
                let el = elements
                    .last_mut()
                    .ok_or_else(|| syntax(line_no, "`property` before any `element`"))?;
                let ty = t.next().ok_or_else(|| syntax(line_no, "`property` needs a type"))?;
                let prop = if ty == "list" {
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
                    Prop::List(name.to_owned(), c, i)
                } else {
                    let s = Scalar::parse(ty).ok_or_else(|| syntax(line_no, format!("unknown type {ty:?}")))?;
                    let name = t.next().ok_or_else(|| syntax(line_no, "`property` needs a name"))?;
                    Prop::Scalar(name.to_owned(), s)
                };
                el.props.push(prop);
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
    let mut mesh = Mesh::default();
    let mut faces: Vec<[u64; 3]> = Vec::new();
    let mut poly: Vec<u64> = Vec::with_capacity(8);
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
            let stride: usize = e
                .props
                .iter()
                .map(|p| if let Prop::Scalar(_, s) = p { s.size() } else { 0 })
                .sum();
            let field = |k: usize| {
                let off: usize = e.props[..k]
                    .iter()
                    .map(|p| if let Prop::Scalar(_, s) = p { s.size() } else { 0 })
                    .sum();
                let ty = if let Prop::Scalar(_, s) = &e.props[k] {
                    *s
                } else {
                    Scalar::F32
                };
                (off, ty)
            };
            let cols = [xyz[0].map(field), xyz[1].map(field), xyz[2].map(field)];
            mesh.positions.reserve(rows.len() / stride.max(1));
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
                mesh.positions.push(p);
            }
            continue;
        }
        // Binary faces in the usual layout (one list: uchar count, int or uint
        // indices): a tight loop straight into triangles.
        if is_face
            && let [Prop::List(name, Scalar::U8, item @ (Scalar::I32 | Scalar::U32))] = e.props.as_slice()
            && (name == "vertex_indices" || name == "vertex_index")
            && let Some((data, big)) = src.rest()
        {
            let word = |b: &[u8]| {
                let a = [b[0], b[1], b[2], b[3]];
                if big {
                    u32::from_be_bytes(a)
                } else {
                    u32::from_le_bytes(a)
                }
            };
            let mut at = 0usize;
            for _ in 0..e.count {
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
                if *item == Scalar::I32 && (0..k).any(|j| v(j) > i32::MAX as u64) {
                    src.skip(at);
                    return Err(src.error("a vertex index must be a whole number ≥ 0"));
                }
                for j in 1..k.saturating_sub(1) {
                    faces.push([v(0), v(j), v(j + 1)]);
                }
                at += 1 + 4 * k;
                if faces.len() as u64 > limits.max_triangles {
                    return Err(MeshError::TooManyTriangles {
                        limit: limits.max_triangles,
                    });
                }
            }
            src.skip(at);
            continue;
        }
        let mut i = 0u64;
        while i < e.count {
            i += 1;
            src.start_row()?;
            let mut p = [0f32; 3];
            for (k, prop) in e.props.iter().enumerate() {
                match prop {
                    Prop::Scalar(_, s) => {
                        let v = src.read(*s)?;
                        if is_vertex && let Some(c) = xyz.iter().position(|x| *x == Some(k)) {
                            if !v.is_finite() {
                                return Err(src.error("a vertex coordinate is not a finite number"));
                            }
                            p[c] = v as f32;
                        }
                    }
                    Prop::List(name, c, item) => {
                        let n = src.read(*c)?;
                        if !(0.0..=f64::from(u32::MAX)).contains(&n) {
                            return Err(src.error("a negative or huge list length"));
                        }
                        let n = n as u64;
                        let wanted = is_face && (name == "vertex_indices" || name == "vertex_index");
                        poly.clear();
                        for _ in 0..n {
                            let v = src.read(*item)?;
                            if wanted {
                                if v < 0.0 || v.fract() != 0.0 {
                                    return Err(src.error("a vertex index must be a whole number ≥ 0"));
                                }
                                poly.push(v as u64);
                            }
                        }
                        if wanted {
                            for k in 1..poly.len().saturating_sub(1) {
                                faces.push([poly[0], poly[k], poly[k + 1]]);
                            }
                            if faces.len() as u64 > limits.max_triangles {
                                return Err(MeshError::TooManyTriangles {
                                    limit: limits.max_triangles,
                                });
                            }
                        }
                    }
                }
            }
            if is_vertex {
                mesh.positions.push(p);
            }
        }
    }
    let n = mesh.positions.len() as u64;
    mesh.triangles.reserve(faces.len());
    for f in faces {
        if let Some(bad) = f.iter().find(|&&i| i >= n) {
            return Err(syntax(
                line_no,
                format!("face index {bad} is out of range: there are {n} vertices"),
            ));
        }
        mesh.triangles.push([f[0] as u32, f[1] as u32, f[2] as u32]);
    }
    Ok(mesh)
}

trait Source<'a> {
    /// Starts the next element (a line in ASCII; nothing in binary).
    fn start_row(&mut self) -> Result<(), MeshError> {
        Ok(())
    }
    /// For binary data and an element without lists: all its rows as one
    /// bounds-checked slice, consumed. `None` where rows differ in size.
    fn fixed_rows(&mut self, _e: &Element) -> Result<Option<(&'a [u8], bool)>, MeshError> {
        Ok(None)
    }
    /// Binary only: the bytes not read yet, and the byte order.
    fn rest(&self) -> Option<(&'a [u8], bool)> {
        None
    }
    /// Binary only: marks `n` more bytes as read.
    fn skip(&mut self, _n: usize) {}
    fn read(&mut self, s: Scalar) -> Result<f64, MeshError>;
    fn error(&self, m: &str) -> MeshError;
}

/// Decodes one value of type `s` from its `s.size()` bytes.
fn decode(s: Scalar, b: &[u8], big: bool) -> f64 {
    let mut a = [0u8; 8];
    let n = s.size();
    a[..n].copy_from_slice(&b[..n]);
    if big {
        a[..n].reverse();
    }
    match s {
        Scalar::I8 => f64::from(a[0] as i8),
        Scalar::U8 => f64::from(a[0]),
        Scalar::I16 => f64::from(i16::from_le_bytes([a[0], a[1]])),
        Scalar::U16 => f64::from(u16::from_le_bytes([a[0], a[1]])),
        Scalar::I32 => f64::from(i32::from_le_bytes([a[0], a[1], a[2], a[3]])),
        Scalar::U32 => f64::from(u32::from_le_bytes([a[0], a[1], a[2], a[3]])),
        Scalar::F32 => f64::from(f32::from_le_bytes([a[0], a[1], a[2], a[3]])),
        Scalar::F64 => f64::from_le_bytes(a),
    }
}

struct Binary<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    big: bool,
}

impl<'a> Source<'a> for Binary<'a> {
    fn rest(&self) -> Option<(&'a [u8], bool)> {
        let data: &'a [u8] = self.data;
        Some((&data[self.pos..], self.big))
    }

    fn skip(&mut self, n: usize) {
        self.pos += n;
    }

    fn fixed_rows(&mut self, e: &Element) -> Result<Option<(&'a [u8], bool)>, MeshError> {
        if e.props.iter().any(|p| matches!(p, Prop::List(..))) {
            return Ok(None);
        }
        let stride: u64 = e
            .props
            .iter()
            .map(|p| if let Prop::Scalar(_, s) = p { s.size() as u64 } else { 0 })
            .sum();
        let need = stride
            .checked_mul(e.count)
            .filter(|&n| n <= (self.data.len() - self.pos) as u64)
            .ok_or_else(|| self.error("the data ends before the header's counts are met"))? as usize;
        let start = self.pos;
        self.pos += need;
        let data: &'a [u8] = self.data;
        Ok(Some((&data[start..start + need], self.big)))
    }

    fn read(&mut self, s: Scalar) -> Result<f64, MeshError> {
        let n = s.size();
        let Some(b) = self.data.get(self.pos..self.pos + n) else {
            return Err(self.error("the data ends before the header's counts are met"));
        };
        self.pos += n;
        Ok(decode(s, b, self.big))
    }

    fn error(&self, m: &str) -> MeshError {
        MeshError::Binary {
            offset: self.base + self.pos as u64,
            message: m.into(),
        }
    }
}

/// ASCII PLY, one element per line: values beyond those the header declares
/// are ignored (some exporters write them), too few is an error.
struct Ascii<'a> {
    data: &'a [u8],
    max_line: usize,
    pos: usize,
    line: u64,
    row_end: Option<usize>,
}

impl<'a> Source<'a> for Ascii<'a> {
    fn start_row(&mut self) -> Result<(), MeshError> {
        if let Some(e) = self.row_end {
            self.pos = e + 1;
            self.line += 1;
        }
        loop {
            if self.pos >= self.data.len() {
                self.row_end = Some(self.data.len());
                return Err(self.error("the data ends before the header's counts are met"));
            }
            let end = crate::line_end(self.data, self.pos, self.max_line).ok_or(MeshError::LineTooLong {
                line: self.line,
                limit: self.max_line,
            })?;
            if self.data[self.pos..end].iter().all(u8::is_ascii_whitespace) {
                self.pos = end + 1;
                self.line += 1;
                continue;
            }
            self.row_end = Some(end);
            return Ok(());
        }
    }

    fn read(&mut self, s: Scalar) -> Result<f64, MeshError> {
        let end = self.row_end.unwrap_or(self.data.len());
        while self.pos < end && self.data[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let start = self.pos;
        while self.pos < end && !self.data[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("the line has fewer values than the header declares"));
        }
        let tok = std::str::from_utf8(&self.data[start..self.pos]).unwrap_or("");
        let v: f64 = tok
            .parse()
            .map_err(|_| self.error(&format!("{tok:?} is not a number")))?;
        if matches!(s, Scalar::F32 | Scalar::F64) || v.fract() == 0.0 {
            Ok(v)
        } else {
            Err(self.error(&format!("{tok:?} is not a whole number")))
        }
    }

    fn error(&self, m: &str) -> MeshError {
        MeshError::Syntax {
            line: self.line,
            message: m.into(),
        }
    }
}
