//! SVG charts of experiments (feature `charts`): a metric per platform over time with its 95%
//! band and the scenario's events marked, and a treatment effect over time with its band.
//!
//! The charts are for looking; the numbers are in the CSV files written next to them.
//!
//! Owns: the SVG charts. Reads: summaries, effects, plain observed points. Never: calibration, the
//! rules.

use crate::error::{Error, Result};
use crate::experiment::{Effects, Summary};
use crate::month::Month;
use crate::stats::Moments;
use plotters::prelude::*;
use std::path::Path;

/// Platform colours, in scenario order (a palette readable in print and by most colour-blind
/// readers).
const COLOURS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

const EVENTS: &str = "month (red lines: the scenario's events)";

fn year(m: Month) -> f64 {
    m.year() as f64 + (m.month_of_year() as f64 - 1.0) / 12.0
}

/// One line to draw: its label and, per month, its centre and 95% band.
struct Line<'a> {
    label: &'a str,
    points: Vec<(f64, Spread)>,
}

/// A plotted value: the centre line and the band around it.
#[derive(Debug, Clone, Copy)]
struct Spread {
    mean: f64,
    lo: f64,
    hi: f64,
}

impl From<Moments> for Spread {
    /// The mean with its 95% confidence interval.
    fn from(m: Moments) -> Spread {
        let (lo, hi) = m.ci95();
        Spread {
            mean: m.mean(),
            lo,
            hi,
        }
    }
}

/// An observed point: x (years), y, the line it belongs to, and whether it is drawn filled.
type Point = (f64, f64, usize, bool);

/// A chart's frame: titles, vertical markers and whether to draw a zero line.
struct Frame<'a> {
    title: &'a str,
    y_label: &'a str,
    x_desc: &'a str,
    markers: &'a [Month],
    zero_line: bool,
}

fn draw(path: &Path, frame: &Frame, lines: &[Line], points: &[Point]) -> Result<()> {
    let Frame {
        title,
        y_label,
        x_desc,
        markers,
        zero_line,
    } = *frame;
    let err = |e: String| Error::Config(format!("drawing {}: {e}", path.display()));
    let (x0, x1, y0, y1) = bounds(lines, points, zero_line)
        .ok_or_else(|| err("nothing to draw: no finite values".into()))?;
    // Drawn under a temporary name and renamed into place when complete.
    let tmp = crate::output::partial_name(path);
    let root = SVGBackend::new(&tmp, (960, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_label)
        .x_label_formatter(&|x| {
            let months = (x * 12.0).round() as i64;
            format!("{}-{:02}", months.div_euclid(12), months.rem_euclid(12) + 1)
        })
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    for m in markers {
        let x = year(*m);
        if x >= x0 && x <= x1 {
            chart
                .draw_series(LineSeries::new(
                    [(x, y0), (x, y1)],
                    RGBColor(200, 60, 60).mix(0.45).stroke_width(1),
                ))
                .map_err(|e| err(e.to_string()))?;
        }
    }
    if zero_line {
        chart
            .draw_series(LineSeries::new(
                [(x0, 0.0), (x1, 0.0)],
                BLACK.stroke_width(1),
            ))
            .map_err(|e| err(e.to_string()))?;
    }
    for (k, l) in lines.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let band = band(l);
        if band.len() >= 3 {
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    colour.mix(0.2).filled(),
                )))
                .map_err(|e| err(e.to_string()))?;
        }
        chart
            .draw_series(LineSeries::new(
                l.points
                    .iter()
                    .filter(|(_, m)| m.mean.is_finite())
                    .map(|(x, m)| (*x, m.mean)),
                colour.stroke_width(2),
            ))
            .map_err(|e| err(e.to_string()))?
            .label(l.label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    for &(x, y, k, filled) in points {
        let colour = COLOURS[k % COLOURS.len()];
        let style = if filled {
            colour.filled()
        } else {
            colour.stroke_width(2)
        };
        chart
            .draw_series(std::iter::once(Circle::new((x, y), 5, style)))
            .map_err(|e| err(e.to_string()))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    drop(chart);
    drop(root);
    std::fs::rename(&tmp, path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The plotted ranges `(x0, x1, y0, y1)`: every finite mean and bound and every point, with 0
/// when a zero line is drawn, padded by 5% in y; `None` when nothing is finite.
fn bounds(lines: &[Line], points: &[Point], zero_line: bool) -> Option<(f64, f64, f64, f64)> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for l in lines {
        for (x, m) in &l.points {
            for y in [m.mean, m.lo, m.hi] {
                if y.is_finite() {
                    y0 = y0.min(y);
                    y1 = y1.max(y);
                }
            }
            x0 = x0.min(*x);
            x1 = x1.max(*x);
        }
    }
    for &(_, y, _, _) in points {
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 || y0 > y1 {
        return None;
    }
    if zero_line {
        y0 = y0.min(0.0);
        y1 = y1.max(0.0);
    }
    let pad = ((y1 - y0) * 0.05).max(1e-12);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let x1 = x1.max(x0 + 1.0 / 12.0);
    Some((x0, x1, y0, y1))
}

/// A line's 95% band as a polygon: upper bounds left to right, lower bounds back.
fn band(l: &Line) -> Vec<(f64, f64)> {
    l.points
        .iter()
        .filter(|(_, m)| m.lo.is_finite())
        .map(|(x, m)| (*x, m.hi))
        .chain(
            l.points
                .iter()
                .rev()
                .filter(|(_, m)| m.lo.is_finite())
                .map(|(x, m)| (*x, m.lo)),
        )
        .collect()
}

/// One line per platform id, its moments month by month from `get(t, id)` (empty where absent).
fn paths<'a>(
    ids: &'a [String],
    months: &[Month],
    get: impl Fn(usize, &str) -> Option<Moments>,
) -> Vec<Line<'a>> {
    ids.iter()
        .map(|id| Line {
            label: id,
            points: months
                .iter()
                .enumerate()
                .map(|(t, m)| (year(*m), get(t, id).unwrap_or_default().into()))
                .collect(),
        })
        .collect()
}

fn platforms(s: &Summary) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in s.cells() {
        if c.table == "platforms" && !out.contains(&c.key1) {
            out.push(c.key1.clone());
        }
    }
    out
}

/// Draws platform `metric` (e.g. `value_share`) over time: the replicate mean per platform with
/// its 95% band, and a vertical line at each month in `events`.
pub fn platform_chart(
    path: &Path,
    summary: &Summary,
    metric: &str,
    events: &[Month],
) -> Result<()> {
    let ids = platforms(summary);
    let lines = paths(&ids, summary.months(), |t, id| {
        summary.get(t, "platforms", id, "", metric)
    });
    let n = ids
        .first()
        .and_then(|id| summary.get(0, "platforms", id, "", metric))
        .ok_or_else(|| Error::Config(format!("no platform metric {metric:?} to draw")))?
        .n();
    let title = format!("{}: {metric} (mean and 95% CI, {n} runs)", summary.scenario);
    let frame = Frame {
        title: &title,
        y_label: metric,
        x_desc: EVENTS,
        markers: events,
        zero_line: false,
    };
    draw(path, &frame, &lines, &[])
}

/// Draws the effect `alternative − baseline` on platform `metric` over time: the paired mean
/// per platform with its 95% band, around a zero line, with the alternative's events marked.
pub fn effect_chart(path: &Path, effects: &Effects, metric: &str, events: &[Month]) -> Result<()> {
    let b = &effects.baseline;
    let ids = platforms(b);
    let lines = paths(&ids, b.months(), |t, id| {
        effects.get(t, "platforms", id, "", metric)
    });
    let title = format!(
        "effect on {metric}: {} minus {} (paired, 95% CI)",
        effects.alternative.scenario, b.scenario
    );
    let y_label = format!("{metric}, difference");
    let frame = Frame {
        title: &title,
        y_label: &y_label,
        x_desc: EVENTS,
        markers: events,
        zero_line: true,
    };
    draw(path, &frame, &lines, &[])
}

/// The months of a scenario's events, each once, for chart markers.
pub fn event_months(s: &crate::scenario::Scenario) -> Vec<Month> {
    let mut m: Vec<Month> = s.events.iter().map(|e| e.at).collect();
    m.sort();
    m.dedup();
    m
}

/// The charts of a comparison in `dir`: `effect_value_share.svg` (the paired effect with its
/// band) and `value_share_baseline.svg`, `value_share_alternative.svg`. Returns their names.
pub fn comparison_charts(dir: &Path, e: &Effects, events: &[Month]) -> Result<Vec<String>> {
    effect_chart(
        &dir.join("effect_value_share.svg"),
        e,
        "value_share",
        events,
    )?;
    platform_chart(
        &dir.join("value_share_baseline.svg"),
        &e.baseline,
        "value_share",
        events,
    )?;
    platform_chart(
        &dir.join("value_share_alternative.svg"),
        &e.alternative,
        "value_share",
        events,
    )?;
    Ok([
        "effect_value_share.svg",
        "value_share_baseline.svg",
        "value_share_alternative.svg",
    ]
    .map(String::from)
    .to_vec())
}

/// An observed value share to draw as a dot on a fit chart: the platform it belongs to, its
/// period's first and last month, the value (percent) and whether it compares with the share of
/// all value (filled) or the share without p2p transfers (hollow).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Platform id.
    pub platform: String,
    /// First and last month of the period.
    pub months: (Month, Month),
    /// Value share, percent.
    pub value: f64,
    /// Compared with the share of all value (a filled dot) rather than without p2p (hollow).
    pub filled: bool,
}

/// Draws the calibration's fit: each platform's simulated value share (percent, mean and 95%
/// band over the replicates) with the observed shares as dots at the middle of their periods
/// (filled: compared with the share of all value; hollow: with the share without p2p
/// transfers) and a vertical line where the calibration window ends.
pub fn fit_chart(
    path: &Path,
    summary: &Summary,
    observed: &[Observed],
    window_end: Month,
) -> Result<()> {
    let ids = platforms(summary);
    let lines = paths(&ids, summary.months(), |t, id| {
        summary
            .get(t, "platforms", id, "", "value_share")
            .map(|mut v| {
                v.scale(100.0);
                v
            })
    });
    let points: Vec<Point> = observed
        .iter()
        .filter_map(|o| {
            let k = ids.iter().position(|id| *id == o.platform)?;
            let x = (year(o.months.0) + year(o.months.1)) / 2.0 + 1.0 / 24.0;
            Some((x, o.value, k, o.filled))
        })
        .collect();
    let title = format!(
        "{}: value share, % (simulated mean and 95% CI; dots observed, hollow = without p2p)",
        summary.scenario
    );
    let frame = Frame {
        title: &title,
        y_label: "value share, %",
        x_desc: "month (red line: the end of the calibration window)",
        markers: &[window_end],
        zero_line: false,
    };
    draw(path, &frame, &lines, &points)
}

/// One platform's predictive value share for [`band_fit_chart`]: its id and, per month, the
/// mean and the 95% band of the predictive runs, percent.
pub type BandSeries = (String, Vec<(Month, f64, f64, f64)>);

/// Draws a predictive fit: each platform's value share (percent: the mean and the 95% band of
/// predictive runs, each with its own parameter vector and seed) with the observed shares as
/// dots (filled: compared with the share of all value; hollow: without p2p transfers) and a
/// vertical line where the calibration window ends.
pub fn band_fit_chart(
    path: &Path,
    title: &str,
    series: &[BandSeries],
    observed: &[Observed],
    window_end: Month,
) -> Result<()> {
    let lines: Vec<Line> = series
        .iter()
        .map(|(id, pts)| Line {
            label: id,
            points: pts
                .iter()
                .map(|&(m, mean, lo, hi)| (year(m), Spread { mean, lo, hi }))
                .collect(),
        })
        .collect();
    let points: Vec<Point> = observed
        .iter()
        .filter_map(|o| {
            let k = series.iter().position(|(id, _)| *id == o.platform)?;
            let x = (year(o.months.0) + year(o.months.1)) / 2.0 + 1.0 / 24.0;
            Some((x, o.value, k, o.filled))
        })
        .collect();
    let frame = Frame {
        title,
        y_label: "value share, %",
        x_desc: "month (red line: the end of the calibration window)",
        markers: &[window_end],
        zero_line: false,
    };
    draw(path, &frame, &lines, &points)
}

/// `sensitivity_K.svg` for output `K` of a sensitivity analysis: for Morris, μ* against σ
/// (a point per parameter, labelled, with μ*'s interval as a bar); for Sobol, each
/// parameter's first-order (dark) and total-order (light) index with their intervals. Returns
/// the file names.
pub fn sensitivity_chart(
    dir: &Path,
    report: &crate::experiment::sensitivity::Report,
) -> Result<Vec<String>> {
    let mut outputs: Vec<&str> = Vec::new();
    for r in &report.rows {
        if !outputs.contains(&r.output.as_str()) {
            outputs.push(&r.output);
        }
    }
    let mut names = Vec::new();
    for (k, output) in outputs.iter().enumerate() {
        let name = format!("sensitivity_{k}.svg");
        let path = dir.join(&name);
        let err = |e: String| Error::Config(format!("drawing {}: {e}", path.display()));
        let rows: Vec<_> = report.rows.iter().filter(|r| r.output == *output).collect();
        let get = |param: &str, index: &str| {
            rows.iter()
                .find(|r| r.parameter == param && r.index == index)
                .map(|r| r.estimate)
        };
        let mut params: Vec<&str> = Vec::new();
        for r in &rows {
            if !params.contains(&r.parameter.as_str()) {
                params.push(&r.parameter);
            }
        }
        let tmp = crate::output::partial_name(&path);
        let root = SVGBackend::new(&tmp, (960, 540)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let morris = rows.first().is_some_and(|r| r.method == "morris");
        let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
        if morris {
            let pts: Vec<(f64, f64, f64, &str)> = params
                .iter()
                .filter_map(|p| {
                    let (m, s) = (get(p, "mu_star")?, get(p, "sigma")?);
                    Some((finite(m.estimate), finite(s.estimate), finite(m.hi), *p))
                })
                .collect();
            let xmax = pts
                .iter()
                .map(|p| p.2.max(p.0))
                .fold(0.0, f64::max)
                .max(1e-12)
                * 1.1;
            let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-12) * 1.1;
            let mut chart = ChartBuilder::on(&root)
                .caption(format!("Morris: {output}"), ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(72)
                .build_cartesian_2d(0.0..xmax, 0.0..ymax)
                .map_err(|e| err(e.to_string()))?;
            chart
                .configure_mesh()
                .x_desc("μ* (mean absolute elementary effect over the parameter's range)")
                .y_desc("σ")
                .draw()
                .map_err(|e| err(e.to_string()))?;
            for (j, (m, s, hi, p)) in pts.iter().enumerate() {
                let c = COLOURS[j % COLOURS.len()];
                let lo = get(p, "mu_star").map_or(*m, |e| finite(e.lo));
                chart
                    .draw_series(LineSeries::new([(lo, *s), (*hi, *s)], c.stroke_width(2)))
                    .map_err(|e| err(e.to_string()))?;
                chart
                    .draw_series(std::iter::once(Circle::new((*m, *s), 5, c.filled())))
                    .map_err(|e| err(e.to_string()))?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        p.to_string(),
                        (*m, *s),
                        ("sans-serif", 13),
                    )))
                    .map_err(|e| err(e.to_string()))?;
            }
        } else {
            let n = params.len();
            let mut chart = ChartBuilder::on(&root)
                .caption(format!("Sobol: {output}"), ("sans-serif", 20))
                .margin(12)
                .x_label_area_size(60)
                .y_label_area_size(72)
                .build_cartesian_2d(0.0..n as f64, -0.1..1.1)
                .map_err(|e| err(e.to_string()))?;
            let labels = params.clone();
            chart
                .configure_mesh()
                .x_labels(n.max(1))
                .x_label_formatter(&|x| {
                    let k = x.floor() as usize;
                    labels.get(k).map(|p| p.to_string()).unwrap_or_default()
                })
                .y_desc("index (first order dark, total order light)")
                .draw()
                .map_err(|e| err(e.to_string()))?;
            for (j, p) in params.iter().enumerate() {
                let c = COLOURS[j % COLOURS.len()];
                let x = j as f64;
                for (index, left, shade) in [("total", 0.15, 0.35), ("first", 0.3, 1.0)] {
                    let Some(e) = get(p, index) else { continue };
                    let (a, b) = (x + left, x + 1.0 - left);
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(a, 0.0), (b, finite(e.estimate))],
                            c.mix(shade).filled(),
                        )))
                        .map_err(|e| err(e.to_string()))?;
                    let mid = x + 0.5 + if index == "total" { 0.25 } else { 0.0 };
                    chart
                        .draw_series(LineSeries::new(
                            [(mid, finite(e.lo)), (mid, finite(e.hi))],
                            BLACK.stroke_width(1),
                        ))
                        .map_err(|e| err(e.to_string()))?;
                }
            }
        }
        root.present().map_err(|e| err(e.to_string()))?;
        drop(root);
        std::fs::rename(&tmp, &path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        names.push(name);
    }
    Ok(names)
}
