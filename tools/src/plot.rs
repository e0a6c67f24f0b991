//! PNG figures with plotters' bitmap backend. Text uses DejaVu Sans embedded in the binary
//! (the `dejavu` crate) and registered with plotters' ab_glyph font loader, so plotting needs
//! no system fonts.
//!
//! A figure is a grid of [`Panel`]s: 1-D outputs as curves (prediction as lines, truth as
//! dots), 2-D outputs as heat maps (one colored cell per query point).

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// One sub-plot.
#[derive(Clone, Debug)]
pub enum Panel {
    /// Curves over a 1-D query coordinate.
    Curves {
        /// Panel title.
        title: String,
        /// Query coordinates, length P.
        y: Vec<f32>,
        /// Prediction series, each of length P.
        pred: Vec<Vec<f32>>,
        /// Truth series (same count and length as `pred`), if any.
        truth: Option<Vec<Vec<f32>>>,
    },
    /// A heat map over 2-D query points.
    Heat {
        /// Panel title.
        title: String,
        /// Points `[P, 2]` row-major.
        points: Vec<f32>,
        /// One value per point.
        values: Vec<f32>,
    },
}

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        // The embedded font always parses; if it ever did not, text would be missing but the
        // plot would still be drawn.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn range(values: impl Iterator<Item = f32>) -> (f32, f32) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    (lo - pad, hi + pad)
}

/// Viridis-like ramp for t in [0, 1].
fn heat_color(t: f32) -> RGBColor {
    let t = t.clamp(0.0, 1.0) as f64;
    let stops = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let x = t * (stops.len() - 1) as f64;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Checks that `path` (option `flag`) names a PNG file, before any work is done.
pub fn check_png(flag: &str, path: &Path) -> Result<()> {
    let png = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !png {
        anyhow::bail!(
            "{flag} {}: expected a .png file name (the figure is a PNG)",
            path.display()
        );
    }
    Ok(())
}

/// Draws `panels` in a grid (at most 3 per row) into a PNG at `path`, atomically (a
/// temporary `.png` in the same folder, then a rename): a failure leaves no partial figure.
pub fn draw(path: &Path, panels: &[Panel]) -> Result<()> {
    check_png("figure", path)?;
    crate::commands::write_atomic_with(path, ".png", |tmp| draw_into(tmp.path(), path, panels))
}

/// Draws into the file `target`; `path` names the figure in errors.
fn draw_into(target: &Path, path: &Path, panels: &[Panel]) -> Result<()> {
    register_font();
    let n = panels.len().max(1);
    let cols = n.min(3);
    let rows = n.div_ceil(cols);
    let (w, h) = (420 * cols as u32, 320 * rows as u32);
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    let root = BitMapBackend::new(target, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let areas = root.split_evenly((rows, cols));
    for (area, panel) in areas.iter().zip(panels) {
        match panel {
            Panel::Curves {
                title,
                y,
                pred,
                truth,
            } => {
                let (x0, x1) = range(y.iter().copied());
                let all = pred
                    .iter()
                    .flatten()
                    .chain(truth.iter().flatten().flatten())
                    .copied();
                let (v0, v1) = range(all);
                let mut chart = ChartBuilder::on(area)
                    .caption(title, ("sans-serif", 16))
                    .margin(8)
                    .x_label_area_size(28)
                    .y_label_area_size(48)
                    .build_cartesian_2d(x0..x1, v0..v1)
                    .map_err(|e| err(&e))?;
                chart
                    .configure_mesh()
                    .light_line_style(WHITE)
                    .draw()
                    .map_err(|e| err(&e))?;
                let mut order: Vec<usize> = (0..y.len()).collect();
                order.sort_by(|&a, &b| y[a].total_cmp(&y[b]));
                for (s, series) in pred.iter().enumerate() {
                    let color = COLORS[s % COLORS.len()];
                    chart
                        .draw_series(LineSeries::new(
                            order.iter().map(|&i| (y[i], series[i])),
                            color.stroke_width(2),
                        ))
                        .map_err(|e| err(&e))?
                        .label(if pred.len() > 1 {
                            format!("prediction {s}")
                        } else {
                            "prediction".into()
                        })
                        .legend(move |(x, yy)| {
                            PathElement::new(vec![(x, yy), (x + 18, yy)], color.stroke_width(2))
                        });
                }
                if let Some(truth) = truth {
                    for (s, series) in truth.iter().enumerate() {
                        let dots = order
                            .iter()
                            .map(|&i| Circle::new((y[i], series[i]), 2, RED.filled()));
                        let drawn = chart.draw_series(dots).map_err(|e| err(&e))?;
                        if s == 0 {
                            drawn
                                .label("truth")
                                .legend(|(x, yy)| Circle::new((x + 9, yy), 3, RED.filled()));
                        }
                    }
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| err(&e))?;
            }
            Panel::Heat {
                title,
                points,
                values,
            } => {
                let p = values.len();
                let (x0, x1) = range(points.iter().step_by(2).copied());
                let (y0, y1) = range(points.iter().skip(1).step_by(2).copied());
                let (lo, hi) = range(values.iter().copied());
                let caption = format!("{title}  [{lo:.3}, {hi:.3}]");
                let mut chart = ChartBuilder::on(area)
                    .caption(caption, ("sans-serif", 16))
                    .margin(8)
                    .x_label_area_size(28)
                    .y_label_area_size(40)
                    .build_cartesian_2d(x0..x1, y0..y1)
                    .map_err(|e| err(&e))?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .draw()
                    .map_err(|e| err(&e))?;
                // A full grid gets one cell per point; scattered points get dots.
                let distinct = |c: usize| {
                    let mut v: Vec<f32> = points.iter().skip(c).step_by(2).copied().collect();
                    v.sort_by(f32::total_cmp);
                    v.dedup();
                    v.len()
                };
                let (nx, ny) = (distinct(0), distinct(1));
                let grid = nx * ny == p && nx > 1 && ny > 1;
                let (hx, hy) = (
                    (x1 - x0) / nx.max(1) as f32 / 2.0,
                    (y1 - y0) / ny.max(1) as f32 / 2.0,
                );
                let color =
                    |i: usize| heat_color((values[i] - lo) / (hi - lo).max(f32::MIN_POSITIVE));
                if !grid {
                    let dots = (0..p).map(|i| {
                        Circle::new((points[2 * i], points[2 * i + 1]), 7, color(i).filled())
                    });
                    chart.draw_series(dots).map_err(|e| err(&e))?;
                    continue;
                }
                let cells = (0..p).map(|i| {
                    let (x, yy) = (points[2 * i], points[2 * i + 1]);
                    Rectangle::new([(x - hx, yy - hy), (x + hx, yy + hy)], color(i).filled())
                });
                chart.draw_series(cells).map_err(|e| err(&e))?;
            }
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// Panels for `n` functions' outputs `[n, P, d_out]` at `points` `[P, d_y]` (d_y 1 or 2;
/// other d_y are not plotted): 1-D curves (one series per component), 2-D heat maps of
/// component 0 (and of the truth next to it). At most `max_functions` functions.
pub fn panels_for(
    label: &str,
    points_of: &dyn Fn(usize) -> Vec<f32>,
    (d_y, d_out): (usize, usize),
    n: usize,
    pred: &[f32],
    truth: Option<&[f32]>,
    max_functions: usize,
) -> Result<Vec<Panel>> {
    let mut panels = Vec::new();
    let mut offset = 0;
    for i in 0..n.min(max_functions) {
        let pts = points_of(i);
        let np = pts.len() / d_y;
        let len = np * d_out;
        let series = |all: &[f32]| -> Vec<Vec<f32>> {
            (0..d_out)
                .map(|c| (0..np).map(|k| all[offset + k * d_out + c]).collect())
                .collect()
        };
        let title = if n > 1 {
            format!("{label} #{i}")
        } else {
            label.to_string()
        };
        match d_y {
            1 => panels.push(Panel::Curves { title, y: pts.clone(), pred: series(pred), truth: truth.map(series) }),
            2 => {
                panels.push(Panel::Heat { title: format!("{title} prediction"), points: pts.clone(), values: series(pred).swap_remove(0) });
                if let Some(t) = truth {
                    panels.push(Panel::Heat { title: format!("{title} truth"), points: pts.clone(), values: series(t).swap_remove(0) });
                }
            }
            d => anyhow::bail!("--plot: query dimension d_y = {d} cannot be drawn (1-D curves and 2-D heat maps only)"),
        }
        offset += len;
    }
    Ok(panels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_curves_and_heat_maps_to_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        let y: Vec<f32> = (0..20).map(|i| i as f32 / 19.0).collect();
        let pred: Vec<f32> = y.iter().map(|v| v.sin()).collect();
        let pts: Vec<f32> = (0..25)
            .flat_map(|i| [(i % 5) as f32, (i / 5) as f32])
            .collect();
        let panels = vec![
            Panel::Curves {
                title: "curve".into(),
                y: y.clone(),
                pred: vec![pred.clone()],
                truth: Some(vec![pred]),
            },
            Panel::Heat {
                title: "heat".into(),
                points: pts,
                values: (0..25).map(|i| i as f32).collect(),
            },
        ];
        draw(&path, &panels).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert_eq!(heat_color(0.0), RGBColor(68, 1, 84));
        assert_eq!(heat_color(1.0), RGBColor(253, 231, 37));
    }
}
