//! A shaded PNG preview, drawn by a small z-buffer rasteriser: orthographic
//! camera framed on the bounds, fixed light from the upper left, two-sided
//! Lambert shading (scans are not always consistently wound) on a transparent
//! background. Flat models (arches, trays) are seen from above, the occlusal
//! view; others from three quarters.

use crate::Mesh;

/// Stone-like colour of the model.
const BASE: [f64; 3] = [0.93, 0.89, 0.80];

#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    #[error("the mesh has no triangles to draw")]
    Empty,
    #[error("size must be between 16 and 4096 pixels")]
    Size,
    #[error("encoding the PNG failed: {0}")]
    Encode(String),
}

fn normalize(v: [f64; 3]) -> [f64; 3] {
    let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if l > 0.0 {
        [v[0] / l, v[1] / l, v[2] / l]
    } else {
        [0.0, 0.0, 1.0]
    }
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Camera basis (right, up, towards the viewer) for the mesh's bounds.
fn camera(lo: [f64; 3], hi: [f64; 3]) -> ([f64; 3], [f64; 3], [f64; 3]) {
    let ext = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| ext[a].total_cmp(&ext[b]));
    let (thin, mid) = (order[0], order[1]);
    let view = if ext[thin] < 0.5 * ext[mid] {
        // Flat: look down the thin axis, tilted a little for depth.
        let mut v = [0.0; 3];
        v[thin] = 1.0;
        v[order[1]] = -0.35;
        normalize(v)
    } else {
        normalize([0.55, -0.45, 0.7])
    };
    // "Up" on screen: the largest axis for flat models, else z.
    let up_hint = if ext[thin] < 0.5 * ext[mid] {
        let mut u = [0.0; 3];
        u[order[1]] = 1.0;
        u
    } else if view[2].abs() > 0.95 {
        [0.0, 1.0, 0.0]
    } else {
        [0.0, 0.0, 1.0]
    };
    let right = normalize(cross(up_hint, view));
    let up = cross(view, right);
    (right, up, view)
}

/// Renders `mesh` to an RGBA image of `size`×`size` pixels.
pub fn render(mesh: &Mesh, size: u32) -> Result<Vec<u8>, ThumbnailError> {
    if !(16..=4096).contains(&size) {
        return Err(ThumbnailError::Size);
    }
    if mesh.triangles.is_empty() {
        return Err(ThumbnailError::Empty);
    }
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for t in &mesh.triangles {
        for &i in t {
            let p = mesh.positions[i as usize];
            for c in 0..3 {
                lo[c] = lo[c].min(f64::from(p[c]));
                hi[c] = hi[c].max(f64::from(p[c]));
            }
        }
    }
    let triangles = mesh.triangles.iter().map(|t| t.map(|i| mesh.positions[i as usize]));
    Ok(draw(lo, hi, size, triangles))
}

/// Renders triangles that arrive one by one (a binary STL read in blocks:
/// [`crate::stl_triangles_at`]) within known bounds (the analysis's).
pub fn render_triangles(
    lo: [f64; 3],
    hi: [f64; 3],
    size: u32,
    triangles: impl Iterator<Item = [[f32; 3]; 3]>,
) -> Result<Vec<u8>, ThumbnailError> {
    if !(16..=4096).contains(&size) {
        return Err(ThumbnailError::Size);
    }
    let mut any = false;
    let rgba = draw(lo, hi, size, triangles.inspect(|_| any = true));
    if any { Ok(rgba) } else { Err(ThumbnailError::Empty) }
}

/// [`render_triangles`], encoded as a PNG.
pub fn png_triangles(
    lo: [f64; 3],
    hi: [f64; 3],
    size: u32,
    triangles: impl Iterator<Item = [[f32; 3]; 3]>,
) -> Result<Vec<u8>, ThumbnailError> {
    encode(&render_triangles(lo, hi, size, triangles)?, size)
}

fn draw(lo: [f64; 3], hi: [f64; 3], size: u32, triangles: impl Iterator<Item = [[f32; 3]; 3]>) -> Vec<u8> {
    let view = View::fit(lo, hi, size);
    let light = normalize([-0.4, 0.6, 0.7]); // in camera space: upper left, towards the viewer
    let mut raster = Raster::new(size);
    for t in triangles {
        let s = view.project(t);
        if let Some((area, value)) = facet(&s, light) {
            raster.fill(&s, area, value);
        }
    }
    raster.rgba()
}

/// The orthographic camera ([`camera`]) framed on the bounds: maps a point
/// to screen x and y (pixels, y pointing down) and a depth (larger is
/// nearer the viewer).
struct View {
    centre: [f64; 3],
    right: [f64; 3],
    up: [f64; 3],
    view: [f64; 3],
    scale: f64,
    half: f64,
}

impl View {
    /// Fits the projected bounds into a `size`×`size` image with a margin.
    fn fit(lo: [f64; 3], hi: [f64; 3], size: u32) -> Self {
        let (right, up, view) = camera(lo, hi);
        let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, (lo[2] + hi[2]) / 2.0];
        let mut r = [f64::INFINITY, f64::NEG_INFINITY];
        let mut u = [f64::INFINITY, f64::NEG_INFINITY];
        for c in 0..8 {
            let p = [
                if c & 1 == 0 { lo[0] } else { hi[0] },
                if c & 2 == 0 { lo[1] } else { hi[1] },
                if c & 4 == 0 { lo[2] } else { hi[2] },
            ];
            let d = [p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]];
            r = [r[0].min(dot(d, right)), r[1].max(dot(d, right))];
            u = [u[0].min(dot(d, up)), u[1].max(dot(d, up))];
        }
        let span = (r[1] - r[0]).max(u[1] - u[0]).max(1e-30);
        Self {
            centre,
            right,
            up,
            view,
            scale: f64::from(size) * 0.9 / span,
            half: f64::from(size) / 2.0,
        }
    }

    /// The triangle's corners in screen space.
    #[inline]
    fn project(&self, t: [[f32; 3]; 3]) -> [[f64; 3]; 3] {
        let mut s = [[0f64; 3]; 3];
        for (k, &p) in t.iter().enumerate() {
            let d = [
                f64::from(p[0]) - self.centre[0],
                f64::from(p[1]) - self.centre[1],
                f64::from(p[2]) - self.centre[2],
            ];
            s[k] = [
                self.half + dot(d, self.right) * self.scale,
                self.half - dot(d, self.up) * self.scale,
                dot(d, self.view) * self.scale,
            ];
        }
        s
    }
}

/// A screen-space triangle's doubled signed area and its flat shade
/// (two-sided Lambert plus a little for facing the viewer); `None` when it
/// is seen edge-on and covers nothing.
#[inline]
fn facet(s: &[[f64; 3]; 3], light: [f64; 3]) -> Option<(f64, f32)> {
    let e1 = [s[1][0] - s[0][0], s[1][1] - s[0][1], s[1][2] - s[0][2]];
    let e2 = [s[2][0] - s[0][0], s[2][1] - s[0][1], s[2][2] - s[0][2]];
    let area = e1[0] * e2[1] - e1[1] * e2[0];
    if area.abs() < 1e-12 {
        return None;
    }
    // Normal in camera space (screen y points down): two-sided Lambert.
    let nrm = normalize([e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], -area]);
    let nrm = [nrm[0], -nrm[1], nrm[2]];
    let lambert = dot(nrm, light).abs();
    let facing = nrm[2].abs();
    let value = (0.28 + 0.62 * lambert + 0.10 * facing).min(1.0) as f32;
    Some((area, value))
}

/// The z-buffer: per pixel, the nearest depth drawn so far and its shade.
struct Raster {
    size: u32,
    depth: Vec<f32>,
    shade: Vec<f32>,
}

impl Raster {
    fn new(size: u32) -> Self {
        let n = size as usize;
        Self {
            size,
            depth: vec![f32::NEG_INFINITY; n * n],
            shade: vec![0f32; n * n],
        }
    }

    /// Draws the screen-space triangle `s` (of doubled signed area `area`,
    /// not zero) in the flat shade `value` wherever it is nearer than what
    /// is there; pixels are covered when their centre is inside.
    #[inline]
    fn fill(&mut self, s: &[[f64; 3]; 3], area: f64, value: f32) {
        let n = self.size as usize;
        let last = f64::from(self.size) - 1.0;
        let x0 = s.iter().map(|v| v[0]).fold(f64::INFINITY, f64::min).floor().max(0.0) as usize;
        let x1 = s
            .iter()
            .map(|v| v[0])
            .fold(f64::NEG_INFINITY, f64::max)
            .ceil()
            .min(last);
        let y0 = s.iter().map(|v| v[1]).fold(f64::INFINITY, f64::min).floor().max(0.0) as usize;
        let y1 = s
            .iter()
            .map(|v| v[1])
            .fold(f64::NEG_INFINITY, f64::max)
            .ceil()
            .min(last);
        if x1 < 0.0 || y1 < 0.0 {
            return;
        }
        let (x1, y1) = (x1 as usize, y1 as usize);
        let (depth, shade) = (&mut self.depth, &mut self.shade);
        for y in y0..=y1 {
            let py = y as f64 + 0.5;
            for x in x0..=x1 {
                let px = x as f64 + 0.5;
                let w0 = (s[1][0] - px) * (s[2][1] - py) - (s[1][1] - py) * (s[2][0] - px);
                let w1 = (s[2][0] - px) * (s[0][1] - py) - (s[2][1] - py) * (s[0][0] - px);
                let w2 = (s[0][0] - px) * (s[1][1] - py) - (s[0][1] - py) * (s[1][0] - px);
                let inside = (w0 >= 0.0 && w1 >= 0.0 && w2 >= 0.0) || (w0 <= 0.0 && w1 <= 0.0 && w2 <= 0.0);
                if !inside {
                    continue;
                }
                let z = ((w0 * s[0][2] + w1 * s[1][2] + w2 * s[2][2]) / area) as f32;
                let idx = y * n + x;
                if z > depth[idx] {
                    depth[idx] = z;
                    shade[idx] = value;
                }
            }
        }
    }

    /// The image: drawn pixels in the model's colour scaled by their shade,
    /// opaque; the rest transparent.
    fn rgba(&self) -> Vec<u8> {
        let n = self.size as usize;
        let mut rgba = vec![0u8; n * n * 4];
        for i in 0..n * n {
            if self.depth[i] > f32::NEG_INFINITY {
                let v = f64::from(self.shade[i]);
                for c in 0..3 {
                    rgba[i * 4 + c] = (BASE[c] * v * 255.0).round().clamp(0.0, 255.0) as u8;
                }
                rgba[i * 4 + 3] = 255;
            }
        }
        rgba
    }
}

/// Renders `mesh` and encodes it as a PNG.
pub fn png(mesh: &Mesh, size: u32) -> Result<Vec<u8>, ThumbnailError> {
    encode(&render(mesh, size)?, size)
}

fn encode(rgba: &[u8], size: u32) -> Result<Vec<u8>, ThumbnailError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, size, size);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| ThumbnailError::Encode(e.to_string()))?;
        w.write_image_data(rgba)
            .map_err(|e| ThumbnailError::Encode(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube() -> Mesh {
        let p = [
            [0., 0., 0.],
            [1., 0., 0.],
            [1., 1., 0.],
            [0., 1., 0.],
            [0., 0., 1.],
            [1., 0., 1.],
            [1., 1., 1.],
            [0., 1., 1.],
        ];
        let t = [
            [0, 2, 1],
            [0, 3, 2],
            [4, 5, 6],
            [4, 6, 7],
            [0, 1, 5],
            [0, 5, 4],
            [1, 2, 6],
            [1, 6, 5],
            [2, 3, 7],
            [2, 7, 6],
            [3, 0, 4],
            [3, 4, 7],
        ];
        Mesh {
            positions: p.to_vec(),
            triangles: t.to_vec(),
        }
    }

    #[test]
    fn a_cube_fills_the_middle_and_leaves_the_corners_clear() {
        let img = render(&cube(), 64).unwrap();
        let px = |x: usize, y: usize| &img[(y * 64 + x) * 4..(y * 64 + x) * 4 + 4];
        assert_eq!(px(32, 32)[3], 255, "the centre is the model");
        assert_eq!(px(0, 0)[3], 0, "the corner is background");
        // Three faces are seen, with three different shades.
        let mut shades: Vec<u8> = (0..64 * 64)
            .filter(|i| img[i * 4 + 3] == 255)
            .map(|i| img[i * 4])
            .collect();
        shades.sort_unstable();
        shades.dedup();
        assert!(shades.len() >= 3, "{shades:?}");
    }

    #[test]
    fn png_output_is_a_png() {
        let b = png(&cube(), 32).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
        assert!(matches!(png(&Mesh::default(), 32), Err(ThumbnailError::Empty)));
        assert!(matches!(png(&cube(), 8), Err(ThumbnailError::Size)));
    }
}
