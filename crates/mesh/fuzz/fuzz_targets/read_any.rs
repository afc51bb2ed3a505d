//! Any bytes: read (format from content), analyse, draw a small thumbnail.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = dentex_mesh::Limits { max_bytes: 1 << 22, max_triangles: 200_000, max_line_bytes: 4096 };
    if let Ok((_, mesh)) = dentex_mesh::read(data, &limits) {
        let _ = dentex_mesh::analyze(&mesh);
        let _ = dentex_mesh::thumbnail::render(&mesh, 32);
    }
    // And the analysis straight from binary STL bytes.
    let _ = dentex_mesh::inspect(data, &limits);
});
