//! Malformed input gets a typed error with a position, never a panic or an
//! allocation sized by a lying header.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_mesh::{Limits, MeshError, read};

fn binary_stl(count: u32, triangles: usize) -> Vec<u8> {
    let mut v = vec![0u8; 80];
    v.extend_from_slice(&count.to_le_bytes());
    for i in 0..triangles {
        v.extend_from_slice(&[0u8; 12]);
        for k in 0..9 {
            v.extend_from_slice(&((i * 9 + k) as f32).to_le_bytes());
        }
        v.extend_from_slice(&[0u8; 2]);
    }
    v
}

#[test]
fn a_ten_byte_file_is_no_mesh() {
    assert_eq!(
        read(b"solid\x00\x01\x02\x03\x04", &Limits::default()).unwrap_err(),
        MeshError::UnknownFormat
    );
    assert_eq!(
        read(&[0u8; 10], &Limits::default()).unwrap_err(),
        MeshError::UnknownFormat
    );
}

#[test]
fn stl_counts_that_do_not_match_the_size_are_refused() {
    // 0xFFFFFFFF triangles declared, one present.
    let e = read(&binary_stl(u32::MAX, 1), &Limits::default()).unwrap_err();
    assert_eq!(
        e,
        MeshError::UnknownFormat,
        "not mistaken for binary STL, and nothing allocated"
    );
    // More declared than present, with a header starting "solid": not binary, not valid ASCII either.
    let mut v = binary_stl(5, 2);
    v[..5].copy_from_slice(b"solid");
    assert!(read(&v, &Limits::default()).is_err());
    // The right count reads.
    let (_, m) = read(&binary_stl(2, 2), &Limits::default()).unwrap();
    assert_eq!(m.triangles.len(), 2);
    // A binary STL whose header begins with "solid" is still binary.
    let mut v = binary_stl(2, 2);
    v[..5].copy_from_slice(b"solid");
    assert_eq!(read(&v, &Limits::default()).unwrap().0, dentex_mesh::Format::StlBinary);
}

#[test]
fn a_ply_declaring_2_pow_40_vertices_fails_fast_without_allocating() {
    let data = b"ply\nformat binary_little_endian 1.0\nelement vertex 1099511627776\nproperty float x\nproperty float y\nproperty float z\nend_header\n\x00\x00\x80\x3f";
    let start = std::time::Instant::now();
    let e = read(data, &Limits::default()).unwrap_err();
    assert!(matches!(e, MeshError::Binary { .. }), "{e:?}");
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
    let ascii = b"ply\nformat ascii 1.0\nelement vertex 1099511627776\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2 3\n";
    assert!(matches!(
        read(ascii, &Limits::default()).unwrap_err(),
        MeshError::Syntax { .. }
    ));
    let no_props = b"ply\nformat ascii 1.0\nelement junk 1099511627776\nend_header\n";
    assert!(
        read(no_props, &Limits::default()).is_err(),
        "an element without properties cannot spin"
    );
}

#[test]
fn obj_indices_out_of_range_name_the_line() {
    let e = read(b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 7\n", &Limits::default()).unwrap_err();
    assert_eq!(
        e,
        MeshError::Syntax {
            line: 4,
            message: "vertex index 7 is out of range: there are 3 vertices".into()
        }
    );
    let e = read(b"v 0 0 0\nf -5 1 1\n", &Limits::default()).unwrap_err();
    assert!(matches!(e, MeshError::Syntax { line: 2, .. }), "{e:?}");
    let e = read(b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("start at 1"), "{e}");
}

#[test]
fn obj_continuations_negative_indices_and_polygons() {
    let (_, m) = read(
        b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 \\\n 0\nf -4 -3 \\\n -2 -1\n",
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(m.positions.len(), 4);
    assert_eq!(m.triangles, vec![[0, 1, 2], [0, 2, 3]]);
}

#[test]
fn overlong_lines_and_oversized_files_hit_the_limits() {
    let limits = Limits {
        max_line_bytes: 100,
        ..Limits::default()
    };
    let mut obj = b"v 0 0 0\n# ".to_vec();
    obj.extend(std::iter::repeat_n(b'x', 1000));
    obj.extend_from_slice(b"\nf 1 1 1\n");
    assert!(matches!(
        read(&obj, &limits).unwrap_err(),
        MeshError::LineTooLong { line: 2, limit: 100 }
    ));
    let small = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        read(&binary_stl(2, 2), &small).unwrap_err(),
        MeshError::TooLarge { limit: 100 }
    ));
    let few = Limits {
        max_triangles: 1,
        ..Limits::default()
    };
    assert!(matches!(
        read(&binary_stl(2, 2), &few).unwrap_err(),
        MeshError::TooManyTriangles { limit: 1 }
    ));
}

#[test]
fn ascii_stl_errors_name_the_line() {
    let e = read(
        b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 zero\n",
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, MeshError::Syntax { line: 4, .. }), "{e:?}");
    let e = read(
        b"solid x\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n  endloop\n endfacet\n",
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, MeshError::Syntax { line: 2, .. }), "{e:?}");
    let e = read(
        b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 1e999 0 0\n",
        &Limits::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("finite"), "{e}");
}

#[test]
fn a_one_gigabyte_line_is_refused_in_every_text_format() {
    // One buffer of 10^9 bytes without a newline after a short prefix, under
    // the default limits (1 GiB per file, 64 KiB per line): each text reader
    // refuses it by line number, having looked no further than the limit.
    let mut data = vec![b'7'; 1_000_000_000];
    let limits = Limits::default();
    let max = limits.max_line_bytes;
    for (prefix, line) in [
        (&b"solid gigaline\nfacet normal 0 0 "[..], 2),
        (&b"v 1 2 "[..], 1),
        (&b"ply\nformat ascii 1.0\ncomment "[..], 3),
        (
            &b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2 "[..],
            8,
        ),
    ] {
        data[..prefix.len()].copy_from_slice(prefix);
        assert_eq!(
            read(&data, &limits).unwrap_err(),
            MeshError::LineTooLong { line, limit: max },
            "{}",
            String::from_utf8_lossy(prefix)
        );
        data[..prefix.len()].fill(b'7');
    }
    // The same line in a file over the size limit is refused by size first.
    let small = Limits {
        max_bytes: 1 << 20,
        ..Limits::default()
    };
    assert_eq!(read(&data, &small).unwrap_err(), MeshError::TooLarge { limit: 1 << 20 });
}
