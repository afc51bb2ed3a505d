//! PLY headers and bodies: the input follows a fixed prefix so the fuzzer spends its time
//! inside this reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = b"ply\nformat ascii 1.0\n".to_vec();
    input.extend_from_slice(data);
    let limits = dentex_mesh::Limits { max_bytes: 1 << 22, max_triangles: 200_000, max_line_bytes: 4096 };
    if let Ok((_, mesh)) = dentex_mesh::read(&input, &limits) {
        let _ = dentex_mesh::analyze(&mesh);
    }
});
