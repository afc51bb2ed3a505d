//! Where a PLY body's values come from: binary (either byte order) or ASCII
//! tokens, behind one trait the body readers are generic over.

use super::*;

pub(super) trait Source<'a> {
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
pub(super) fn decode(s: Scalar, b: &[u8], big: bool) -> f64 {
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

pub(super) struct Binary<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    pub(super) base: u64,
    pub(super) big: bool,
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
pub(super) struct Ascii<'a> {
    pub(super) data: &'a [u8],
    pub(super) max_line: usize,
    pub(super) pos: usize,
    pub(super) line: u64,
    pub(super) row_end: Option<usize>,
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
