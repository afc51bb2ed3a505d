//! What an uploaded file is, decided from its bytes (never its name or the
//! declared Content-Type), and the removal of photo metadata (EXIF with GPS
//! and camera, XMP, IPTC, comments, PNG text chunks) before anything is stored.

use dentex_mesh::Format;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scan,
    Photo,
    Document,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scan => "scan",
            Kind::Photo => "photo",
            Kind::Document => "document",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: Kind,
    pub content_type: &'static str,
    /// The mesh format, for scans.
    pub format: Option<Format>,
}

/// How many leading bytes [`sniff`] wants (fewer when the file is shorter).
pub const SNIFF_BYTES: usize = 64 * 1024;

pub fn format_name(f: Format) -> &'static str {
    match f {
        Format::StlBinary => "stl_binary",
        Format::StlAscii => "stl_ascii",
        Format::PlyAscii => "ply_ascii",
        Format::PlyBinaryLittleEndian => "ply_binary_little_endian",
        Format::PlyBinaryBigEndian => "ply_binary_big_endian",
        Format::Obj => "obj",
    }
}

fn scan(format: Format) -> Sniffed {
    let content_type = match format {
        Format::StlBinary | Format::StlAscii => "model/stl",
        Format::Obj => "model/obj",
        _ => "application/ply",
    };
    Sniffed {
        kind: Kind::Scan,
        content_type,
        format: Some(format),
    }
}

/// Decides the type from the first bytes (`head`, up to [`SNIFF_BYTES`];
/// `complete` when that is the whole file). A binary STL has no signature:
/// anything else of at least 84 bytes is taken as one here, and
/// [`binary_stl_size_ok`] must confirm it once the size is known.
pub fn sniff(head: &[u8], complete: bool) -> Option<Sniffed> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Sniffed {
            kind: Kind::Photo,
            content_type: "image/jpeg",
            format: None,
        });
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Sniffed {
            kind: Kind::Photo,
            content_type: "image/png",
            format: None,
        });
    }
    if head.starts_with(b"%PDF-") {
        return Some(Sniffed {
            kind: Kind::Document,
            content_type: "application/pdf",
            format: None,
        });
    }
    match dentex_mesh::detect(head) {
        // A short prefix of a larger file may match 84 + 50·n by chance.
        Some(Format::StlBinary) if !complete => Some(scan(Format::StlBinary)),
        Some(f) => Some(scan(f)),
        None if head.len() >= 84 && !is_text(head) => Some(scan(Format::StlBinary)),
        None => None,
    }
}

fn is_text(head: &[u8]) -> bool {
    head[..head.len().min(512)]
        .iter()
        .all(|&b| b >= 0x20 || matches!(b, b'\n' | b'\r' | b'\t'))
}

/// A binary STL is exactly 84 + 50·n bytes for the n in its header (one
/// trailing byte tolerated).
pub fn binary_stl_size_ok(head: &[u8], size: u64) -> bool {
    if head.len() < 84 {
        return false;
    }
    let n = u64::from(u32::from_le_bytes([head[80], head[81], head[82], head[83]]));
    size == 84 + 50 * n || size == 85 + 50 * n
}

#[derive(Debug, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

/// A JPEG without its metadata: APP1 (EXIF, with GPS and camera; XMP), APP2
/// other than ICC profiles (MPF, which points at embedded copies), APP3–
/// APP13 (IPTC and vendor blocks), APP15 and comments go, wherever they sit
/// (also between the scans of a progressive JPEG); JFIF (APP0), ICC colour
/// profiles and Adobe's colour transform (APP14) stay, since a viewer needs
/// them. Nothing after the end-of-image marker is kept: phones append
/// further images (each with its own EXIF) or a motion-photo video there.
pub fn strip_jpeg(data: &[u8]) -> Result<Vec<u8>, Unreadable> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(Unreadable("not a JPEG"));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&data[..2]);
    let mut i = 2;
    loop {
        // Fill bytes may precede a marker.
        while data.get(i) == Some(&0xFF) && data.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (data.get(i), data.get(i + 1)) else {
            return Err(Unreadable("a JPEG segment is malformed"));
        };
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&data[i..i + 2]);
                i += 2;
                continue;
            }
            _ => {}
        }
        let len = match (data.get(i + 2), data.get(i + 3)) {
            (Some(&a), Some(&b)) => usize::from(u16::from_be_bytes([a, b])),
            _ => return Err(Unreadable("a JPEG segment is cut off")),
        };
        if len < 2 || i + 2 + len > data.len() {
            return Err(Unreadable("a JPEG segment is cut off"));
        }
        let segment = &data[i..i + 2 + len];
        let payload = &segment[4..];
        let keep = match marker {
            0xE0 | 0xEE => true,
            0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
            0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
            _ => true,
        };
        if keep {
            out.extend_from_slice(segment);
        }
        i += 2 + len;
        if marker == 0xDA {
            // Entropy-coded data runs to the next marker that is neither a
            // stuffed zero nor a restart.
            let start = i;
            loop {
                match (data.get(i), data.get(i + 1)) {
                    (Some(&0xFF), Some(&(0x00 | 0xD0..=0xD7))) => i += 2,
                    (Some(&0xFF), Some(_)) => break,
                    (Some(_), _) => i += 1,
                    (None, _) => return Err(Unreadable("the JPEG has no end")),
                }
            }
            out.extend_from_slice(&data[start..i]);
        }
    }
}

/// A PNG with only what draws the picture: critical chunks and the colour
/// ones (transparency, gamma, chromaticities, sRGB, ICC profile, significant
/// bits, pixel size). Text, EXIF, time and every other chunk go.
pub fn strip_png(data: &[u8]) -> Result<Vec<u8>, Unreadable> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    const KEEP: [&[u8; 4]; 12] = [
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs", b"bKGD",
    ];
    if !data.starts_with(SIGNATURE) {
        return Err(Unreadable("not a PNG"));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(SIGNATURE);
    let mut i = SIGNATURE.len();
    while i < data.len() {
        if i + 12 > data.len() {
            return Err(Unreadable("a PNG chunk is cut off"));
        }
        let len = u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]) as usize;
        let end = i
            .checked_add(12)
            .and_then(|v| v.checked_add(len))
            .filter(|&e| e <= data.len())
            .ok_or(Unreadable("a PNG chunk is cut off"))?;
        let ty = &data[i + 4..i + 8];
        if KEEP.iter().any(|k| &k[..] == ty) {
            out.extend_from_slice(&data[i..end]);
        }
        i = end;
        if ty == b"IEND" {
            return Ok(out);
        }
    }
    Err(Unreadable("the PNG has no end"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn types_come_from_the_bytes() {
        let jpeg = fixture("photo_with_gps.jpg");
        assert_eq!(sniff(&jpeg, true).map(|s| s.kind), Some(Kind::Photo));
        assert_eq!(sniff(b"%PDF-1.7\n", true).map(|s| s.kind), Some(Kind::Document));
        assert_eq!(
            sniff(b"solid x\nfacet normal 0 0 0\n", true).and_then(|s| s.format),
            Some(Format::StlAscii)
        );
        assert_eq!(
            sniff(b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", true).map(|s| s.content_type),
            Some("model/obj")
        );
        assert_eq!(sniff(b"just some words", true), None);
        assert_eq!(sniff(b"<html><script>", true), None);
        assert_eq!(sniff(&[0u8; 10], true), None);
        // An executable or a zip is binary, so it is a binary STL candidate
        // until its size is checked.
        let mut blob = b"MZ".to_vec();
        blob.resize(200, 0);
        assert_eq!(sniff(&blob, false).and_then(|s| s.format), Some(Format::StlBinary));
        assert!(!binary_stl_size_ok(&blob, 200));
    }

    #[test]
    fn jpeg_metadata_goes_and_the_picture_stays() {
        let jpeg = fixture("photo_with_gps.jpg");
        let find = |h: &[u8], n: &[u8]| h.windows(n.len()).any(|w| w == n);
        assert!(find(&jpeg, b"Exif\0\0") && find(&jpeg, b"PlantedCamera"));
        let clean = strip_jpeg(&jpeg).unwrap();
        assert!(!find(&clean, b"Exif"));
        assert!(!find(&clean, b"Planted"));
        assert!(clean.starts_with(&[0xFF, 0xD8]) && clean.ends_with(&[0xFF, 0xD9]));
        // Only the EXIF segment went: the rest is byte for byte the same.
        let app1 = jpeg.windows(2).position(|w| w == [0xFF, 0xE1]).unwrap();
        let len = usize::from(u16::from_be_bytes([jpeg[app1 + 2], jpeg[app1 + 3]]));
        let mut want = jpeg[..app1].to_vec();
        want.extend_from_slice(&jpeg[app1 + 2 + len..]);
        assert_eq!(clean, want);
        // An embedded copy after the end (as phones append) goes too, and so
        // does a comment between the scan and the end.
        let mut longer = jpeg[..jpeg.len() - 2].to_vec();
        longer.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x0B]);
        longer.extend_from_slice(b"Planted\0\0");
        longer.extend_from_slice(&[0xFF, 0xD9]);
        longer.extend_from_slice(&jpeg);
        assert_eq!(strip_jpeg(&longer).unwrap(), clean);
        // Stripping is idempotent, and cut-off files are refused.
        assert_eq!(strip_jpeg(&clean).unwrap(), clean);
        assert!(strip_jpeg(&jpeg[..40]).is_err());
    }

    #[test]
    fn png_text_and_exif_chunks_go() {
        let png = fixture("photo_with_text.png");
        let find = |h: &[u8], n: &[u8]| h.windows(n.len()).any(|w| w == n);
        assert!(find(&png, b"Planted"));
        let clean = strip_png(&png).unwrap();
        assert!(!find(&clean, b"Planted") && !find(&clean, b"tEXt") && !find(&clean, b"eXIf"));
        // Still a picture the png crate reads, same size.
        let decoder = png::Decoder::new(std::io::Cursor::new(&clean));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (16, 12));
        assert!(strip_png(&png[..png.len() - 5]).is_err());
    }
}
