//! A small raster canvas for top-view pictures (trajectories, obstacles), saved as PNG.

use std::path::Path;

use anyhow::{Context, Result};

pub struct Canvas {
    w: usize,
    h: usize,
    px: Vec<[u8; 3]>,
    /// World bounds shown: x0, y0, scale (px per metre).
    x0: f64,
    y0: f64,
    s: f64,
}

impl Canvas {
    /// A white canvas showing world x ∈ [xmin, xmax], y ∈ [ymin, ymax] (equal axes, x right,
    /// y up), with a light grid every metre and darker axes through the origin.
    pub fn new(w: usize, h: usize, xmin: f64, xmax: f64, ymin: f64, ymax: f64) -> Self {
        let margin = 20.0;
        let s = ((w as f64 - 2.0 * margin) / (xmax - xmin).max(1e-6))
            .min((h as f64 - 2.0 * margin) / (ymax - ymin).max(1e-6));
        let cx = (xmin + xmax) / 2.0;
        let cy = (ymin + ymax) / 2.0;
        let mut c = Self {
            w,
            h,
            px: vec![[255, 255, 255]; w * h],
            x0: cx - w as f64 / 2.0 / s,
            y0: cy - h as f64 / 2.0 / s,
            s,
        };
        let (gx0, gx1) = (c.x0.floor() as i64, (c.x0 + w as f64 / s).ceil() as i64);
        let (gy0, gy1) = (c.y0.floor() as i64, (c.y0 + h as f64 / s).ceil() as i64);
        if gx1 - gx0 < 400 && gy1 - gy0 < 400 {
            for gx in gx0..=gx1 {
                let col = if gx == 0 { [150; 3] } else { [225; 3] };
                c.line(gx as f64, c.y0, gx as f64, c.y0 + h as f64 / s, col);
            }
            for gy in gy0..=gy1 {
                let col = if gy == 0 { [150; 3] } else { [225; 3] };
                c.line(c.x0, gy as f64, c.x0 + w as f64 / s, gy as f64, col);
            }
        }
        c
    }

    fn to_px(&self, x: f64, y: f64) -> (f64, f64) {
        (
            (x - self.x0) * self.s,
            self.h as f64 - (y - self.y0) * self.s,
        )
    }

    fn put(&mut self, i: i64, j: i64, c: [u8; 3]) {
        if i >= 0 && j >= 0 && (i as usize) < self.w && (j as usize) < self.h {
            self.px[j as usize * self.w + i as usize] = c;
        }
    }

    /// A line between two world points.
    pub fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3]) {
        let (a, b) = (self.to_px(x0, y0), self.to_px(x1, y1));
        let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).clamp(1, 100_000);
        for k in 0..=n {
            let t = k as f64 / n as f64;
            self.put(
                (a.0 + t * (b.0 - a.0)).round() as i64,
                (a.1 + t * (b.1 - a.1)).round() as i64,
                c,
            );
        }
    }

    /// A polyline through world points.
    pub fn path(&mut self, pts: &[[f64; 2]], c: [u8; 3]) {
        for w in pts.windows(2) {
            self.line(w[0][0], w[0][1], w[1][0], w[1][1], c);
        }
    }

    /// A filled disc (world centre and radius).
    pub fn disc(&mut self, x: f64, y: f64, r: f64, c: [u8; 3]) {
        let (cx, cy) = self.to_px(x, y);
        let rp = (r * self.s).max(1.5);
        for j in (cy - rp).floor() as i64..=(cy + rp).ceil() as i64 {
            for i in (cx - rp).floor() as i64..=(cx + rp).ceil() as i64 {
                if ((i as f64 - cx).powi(2) + (j as f64 - cy).powi(2)).sqrt() <= rp {
                    self.put(i, j, c);
                }
            }
        }
    }

    pub fn save_png(&self, path: &Path) -> Result<()> {
        write_png(path, self.w, self.h, &self.px)
    }
}

/// An RGB image `w` × `h` (row-major pixels) as a PNG file.
fn write_png(path: &Path, w: usize, h: usize, px: &[[u8; 3]]) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc.write_header()?;
    let data: Vec<u8> = px.iter().flatten().copied().collect();
    wr.write_image_data(&data)?;
    Ok(())
}

/// A distinct colour for series `i`.
pub fn palette(i: usize) -> [u8; 3] {
    const P: [[u8; 3]; 8] = [
        [31, 119, 180],
        [255, 127, 14],
        [44, 160, 44],
        [214, 39, 40],
        [148, 103, 189],
        [140, 86, 75],
        [227, 119, 194],
        [23, 190, 207],
    ];
    P[i % P.len()]
}

/// A blank raster with pixel coordinates (x right, y down), for charts.
pub struct Raster {
    w: usize,
    h: usize,
    px: Vec<[u8; 3]>,
}

impl Raster {
    pub fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            px: vec![[255, 255, 255]; w * h],
        }
    }

    /// A filled rectangle `[x0, x1) × [y0, y1)`.
    pub fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]) {
        for y in y0.max(0)..y1.min(self.h as i64) {
            for x in x0.max(0)..x1.min(self.w as i64) {
                self.px[y as usize * self.w + x as usize] = c;
            }
        }
    }

    /// Text in the 8 × 8 public-domain font, its top-left corner at (x, y), each font pixel
    /// `scale` pixels wide; characters the font lacks show as `?`.
    pub fn text(&mut self, x: i64, y: i64, s: &str, scale: i64, c: [u8; 3]) {
        use font8x8::UnicodeFonts;
        for (i, ch) in s.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS
                .get(ch)
                .or_else(|| font8x8::LATIN_FONTS.get(ch))
                .or_else(|| font8x8::GREEK_FONTS.get(ch))
                .unwrap_or_else(|| font8x8::BASIC_FONTS.get('?').unwrap_or([0; 8]));
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        let gx = x + (i as i64 * 8 + col) * scale;
                        let gy = y + row as i64 * scale;
                        self.rect(gx, gy, gx + scale, gy + scale, c);
                    }
                }
            }
        }
    }

    pub fn save_png(&self, path: &Path) -> Result<()> {
        write_png(path, self.w, self.h, &self.px)
    }
}

/// A bound a chart marks: values above a `Max` or below a `Min` fail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    Max(f64),
    Min(f64),
}

impl Limit {
    pub fn value(self) -> f64 {
        match self {
            Limit::Max(v) | Limit::Min(v) => v,
        }
    }
    pub fn fails(self, v: f64) -> bool {
        match self {
            Limit::Max(l) => v > l,
            Limit::Min(l) => v < l,
        }
    }
}

/// A horizontal bar chart: one labelled bar per row with its value written beside it (rows
/// without a value say "n/a"), and an optional limit drawn as a dashed red line; bars that
/// fail it are red.
pub fn bar_chart(
    path: &Path,
    title: &str,
    labels: &[String],
    values: &[Option<f64>],
    limit: Option<Limit>,
) -> Result<()> {
    let (row, left, right) = (28i64, 150i64, 90i64);
    let top = 44i64;
    let w = 760i64;
    let h = top + row * labels.len() as i64 + 16;
    let mut r = Raster::new(w as usize, h as usize);
    r.text(10, 12, title, 1, [0, 0, 0]);
    let finite: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let lv = limit.map_or(0.0, Limit::value);
    let lo = finite.iter().copied().fold(0.0f64, f64::min).min(lv);
    let hi = finite.iter().copied().fold(0.0f64, f64::max).max(lv);
    let span = (hi - lo).max(1e-12);
    let px = |v: f64| left + ((v - lo) / span * (w - left - right) as f64).round() as i64;
    let zero = px(0.0);
    r.rect(zero, top - 4, zero + 1, h - 10, [120; 3]);
    for (i, (label, v)) in labels.iter().zip(values).enumerate() {
        let y = top + i as i64 * row;
        let name: String = label.chars().take(17).collect();
        r.text(8, y + 6, &name, 1, [0, 0, 0]);
        match v {
            Some(v) if v.is_finite() => {
                let x = px(*v);
                let over = limit.is_some_and(|l| l.fails(*v));
                let c = if over { [214, 39, 40] } else { palette(0) };
                r.rect(zero.min(x), y + 2, zero.max(x) + 1, y + row - 6, c);
                r.text(zero.max(x) + 6, y + 6, &format_value(*v), 1, [40; 3]);
            }
            _ => r.text(zero + 6, y + 6, "n/a", 1, [120; 3]),
        }
    }
    if let Some(l) = limit {
        let x = px(l.value());
        for y in (top - 4..h - 10).step_by(6) {
            r.rect(x, y, x + 2, y + 3, [214, 39, 40]);
        }
    }
    r.save_png(path)
}

fn format_value(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}
