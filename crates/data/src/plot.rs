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
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut enc =
            png::Encoder::new(std::io::BufWriter::new(file), self.w as u32, self.h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header()?;
        let data: Vec<u8> = self.px.iter().flatten().copied().collect();
        wr.write_image_data(&data)?;
        Ok(())
    }
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
