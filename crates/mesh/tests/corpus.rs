//! Every file of the shared corpus, against the figures trimesh reports for it
//! (`tests/fixtures/meshes/expected.jsonl`): counts, bounds, area and volume
//! within 1e-4 relative, watertightness, winding, bodies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_mesh::{Limits, analyze, read};
use serde_json::Value;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/meshes");
    assert!(
        p.join("expected.jsonl").is_file(),
        "the mesh corpus is in the repository at tests/fixtures/meshes at {}",
        p.display()
    );
    p
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn every_corpus_file_agrees_with_trimesh() {
    let dir = corpus();
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in std::fs::read_to_string(dir.join("expected.jsonl")).unwrap().lines() {
        let want: Value = serde_json::from_str(line).unwrap();
        let file = want["file"].as_str().unwrap();
        if want.get("trimesh_error").is_some() {
            continue; // covered by its own test below
        }
        let data = std::fs::read(dir.join(file)).unwrap();
        let (_, mesh) = match read(&data, &Limits::default()) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        let r = analyze(&mesh);
        let mut bad = Vec::new();
        let n = |k: &str| want[k].as_u64().unwrap();
        if r.triangles != n("faces") {
            bad.push(format!("faces {} want {}", r.triangles, n("faces")));
        }
        if r.vertices != n("vertices") {
            bad.push(format!("vertices {} want {}", r.vertices, n("vertices")));
        }
        if r.bodies != n("bodies") {
            bad.push(format!("bodies {} want {}", r.bodies, n("bodies")));
        }
        if r.watertight != want["watertight"].as_bool().unwrap() {
            bad.push(format!("watertight {}", r.watertight));
        }
        if r.winding_consistent != want["winding_consistent"].as_bool().unwrap() {
            bad.push(format!("winding {}", r.winding_consistent));
        }
        let area = want["area"].as_f64().unwrap();
        if !(close(r.area, area, 1e-4) || (area == 0.0 && r.area == 0.0)) {
            bad.push(format!("area {} want {area}", r.area));
        }
        match (r.volume, want["volume"].as_f64()) {
            (Some(v), Some(w)) if close(v, w, 1e-4) => {}
            (None, None) => {}
            (got, w) => bad.push(format!("volume {got:?} want {w:?}")),
        }
        if let (Some(lo), Some(hi)) = (want["bbox_min"].as_array(), want["bbox_max"].as_array()) {
            let ext = (0..3)
                .map(|c| hi[c].as_f64().unwrap() - lo[c].as_f64().unwrap())
                .fold(0.0, f64::max);
            let tol = ext * 1e-5 + 1e-6;
            for c in 0..3 {
                if (r.bbox_min[c] - lo[c].as_f64().unwrap()).abs() > tol
                    || (r.bbox_max[c] - hi[c].as_f64().unwrap()).abs() > tol
                {
                    bad.push(format!("bbox {:?}..{:?}", r.bbox_min, r.bbox_max));
                    break;
                }
            }
        }
        if !bad.is_empty() {
            failures.push(format!("{file}: {}", bad.join(", ")));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, 50, "every file with trimesh figures is checked");
}

#[test]
fn the_binary_stl_one_byte_too_long_reads_like_numpy_stl() {
    // trimesh refuses it; numpy-stl reads 288 triangles, volume 2.343149.
    let data = std::fs::read(corpus().join("numpy-stl/stl_binary__HalfDonut.stl")).unwrap();
    let (format, mesh) = read(&data, &Limits::default()).unwrap();
    assert_eq!(format, dentex_mesh::Format::StlBinary);
    let r = analyze(&mesh);
    assert_eq!(r.triangles, 288);
    assert!(close(r.volume.unwrap(), 2.343149, 1e-5), "{:?}", r.volume);
}

#[test]
fn units_are_guessed_right_for_the_labelled_files() {
    use dentex_mesh::units::Unit;
    for (file, unit) in [
        ("trimesh/counter.unitsmm.STL", Unit::Millimeters),
        ("trimesh/1002_tray_bottom.STL", Unit::Millimeters),
        ("trimesh/ADIS16480.STL", Unit::Meters),
        ("trimesh/octagonal_pocket.stl", Unit::Meters),
        ("trimesh/featuretype.STL", Unit::Inches),
    ] {
        let data = std::fs::read(corpus().join(file)).unwrap();
        let r = analyze(&read(&data, &Limits::default()).unwrap().1);
        assert_eq!(r.units.unit, unit, "{file}: {}", r.units.reason);
    }
}

#[test]
fn streaming_statistics_match_the_full_analysis_on_every_binary_stl() {
    let dir = corpus();
    let mut seen = 0;
    for line in std::fs::read_to_string(dir.join("expected.jsonl")).unwrap().lines() {
        let want: Value = serde_json::from_str(line).unwrap();
        let data = std::fs::read(dir.join(want["file"].as_str().unwrap())).unwrap();
        let Some(s) = dentex_mesh::binary_stats(&data) else {
            continue;
        };
        let r = analyze(&read(&data, &Limits::default()).unwrap().1);
        assert_eq!(s.triangles, r.triangles);
        assert!(
            close(s.area, r.area, 1e-5) || r.area == 0.0,
            "{}: {} vs {}",
            want["file"],
            s.area,
            r.area
        );
        assert!(
            close(s.signed_volume, r.signed_volume, 1e-4) || r.signed_volume.abs() < 1e-12,
            "{}: {} vs {}",
            want["file"],
            s.signed_volume,
            r.signed_volume
        );
        for c in 0..3 {
            assert!((s.bbox_min[c] - r.bbox_min[c]).abs() < 1e-9 && (s.bbox_max[c] - r.bbox_max[c]).abs() < 1e-9);
        }
        seen += 1;
    }
    assert!(seen >= 15, "{seen} binary STL files");
}
