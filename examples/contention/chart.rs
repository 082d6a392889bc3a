//! One SVG per scaling workload: median Mops/s against threads (log₂ axis),
//! a line per structure, a mark where threads equal cores, the legend beside.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

use crate::report::Row;
use crate::workloads::Role;

/// Line colours, freelane's structures first (the subject takes the first).
const COLOURS: [RGBColor; 8] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Draws `rows` (one workload) into `path`; `machine` is named under the
/// threads axis, `cores` places the oversubscription mark.
pub fn draw(
    path: &Path,
    title: &str,
    machine: &str,
    rows: &[&Row],
    cores: usize,
) -> Result<(), Box<dyn Error>> {
    let mut structures: Vec<(&str, Role)> = Vec::new();
    for row in rows {
        if !structures.iter().any(|(name, _)| *name == row.structure) {
            structures.push((row.structure, row.role));
        }
    }
    structures.sort_by_key(|(_, role)| *role != Role::Subject);
    // x is log2(threads), labelled with the thread count: doubling steps are even.
    let log2 = |threads: usize| (threads as f64).log2();
    let x_low = rows
        .iter()
        .map(|r| log2(r.threads))
        .fold(f64::INFINITY, f64::min);
    let x_high = rows.iter().map(|r| log2(r.threads)).fold(0.0, f64::max);
    let (x_low, x_high) = if x_high - x_low < 1.0 {
        (x_low - 0.5, x_high + 0.5)
    } else {
        (x_low, x_high)
    };
    let y_high = rows
        .iter()
        .map(|r| r.median())
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.1;

    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_horizontally(680);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x_low..x_high, 0.0..y_high)?;
    chart
        .configure_mesh()
        .x_labels(((x_high - x_low).round() as usize + 1).max(2))
        .x_desc(format!("threads ({machine})"))
        .y_desc("Mops/s (median)")
        .x_label_formatter(&|x| format!("{}", 2f64.powf(*x).round()))
        .draw()?;
    let mut legend_entries = Vec::new();
    for (index, (name, role)) in structures.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let width = if *role == Role::Subject { 3 } else { 2 };
        let mut points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.structure == *name)
            .map(|r| (log2(r.threads), r.median()))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart.draw_series(LineSeries::new(points, colour.stroke_width(width)).point_size(3))?;
        legend_entries.push((name.to_string(), colour.stroke_width(width)));
    }
    let cores = log2(cores);
    if cores >= x_low && cores < x_high {
        let grey = RGBColor(160, 160, 160);
        chart.draw_series(LineSeries::new(
            [(cores, 0.0), (cores, y_high)],
            grey.stroke_width(1),
        ))?;
        legend_entries.push(("threads = cores".into(), grey.stroke_width(1)));
    }
    // The legend beside the plot, where it hides no line.
    for (index, (name, style)) in legend_entries.into_iter().enumerate() {
        let y = 60 + 24 * index as i32;
        legend.draw(&PathElement::new(vec![(8, y), (36, y)], style))?;
        legend.draw(&Text::new(name, (44, y - 7), ("sans-serif", 14)))?;
    }
    root.present()?;
    Ok(())
}

/// One latency workload's chart: p50, p90, p99, p99.9 and max on a log
/// nanosecond axis, a line per structure and load (freelane's solid and
/// thick, peers thinner), the legend beside, `machine` under the axis.
pub fn draw_latency(
    path: &Path,
    title: &str,
    machine: &str,
    rows: &[&crate::latency::LatencyRow],
) -> Result<(), Box<dyn Error>> {
    const LABELS: [&str; 5] = ["p50", "p90", "p99", "p99.9", "max"];
    let values = rows.iter().flat_map(|r| r.percentiles.points());
    let low = values.clone().fold(f64::INFINITY, f64::min).max(1.0) * 0.8;
    let high = values.fold(1.0, f64::max) * 1.25;
    let mut structures: Vec<&str> = Vec::new();
    for row in rows {
        if !structures.contains(&row.structure) {
            structures.push(row.structure);
        }
    }
    let mut loads: Vec<(usize, &str)> = rows.iter().map(|r| (r.n, r.load.as_str())).collect();
    loads.sort_unstable();
    loads.dedup();

    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_horizontally(640);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 16))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.2f64..4.2f64, (low..high).log_scale())?;
    chart
        .configure_mesh()
        .x_labels(5)
        .x_desc(format!("percentile ({machine})"))
        .y_desc("latency, ns (log)")
        .x_label_formatter(&|x| {
            let index = x.round();
            if (x - index).abs() < 0.01 && (0.0..=4.0).contains(&index) {
                LABELS[index as usize].to_string()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| crate::latency::format_nanos(*y))
        .draw()?;
    let mut legend_entries = Vec::new();
    for (index, structure) in structures.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        for (shade, (n, load)) in loads.iter().enumerate() {
            let Some(row) = rows.iter().find(|r| r.structure == *structure && r.n == *n) else {
                continue;
            };
            let subject = row.role == Role::Subject;
            // Heavier loads in lighter strokes of the structure's colour.
            let mix = |c: u8| {
                (f64::from(c) + (255.0 - f64::from(c)) * 0.3 * shade as f64 / loads.len() as f64)
                    as u8
            };
            let colour = RGBColor(mix(colour.0), mix(colour.1), mix(colour.2));
            let style = colour.stroke_width(if subject { 3 } else { 2 });
            let points: Vec<(f64, f64)> = row
                .percentiles
                .points()
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64, v.max(low)))
                .collect();
            chart.draw_series(LineSeries::new(points, style).point_size(3))?;
            legend_entries.push((format!("{structure} {load}"), style));
        }
    }
    for (index, (name, style)) in legend_entries.into_iter().enumerate() {
        let y = 60 + 24 * index as i32;
        legend.draw(&PathElement::new(vec![(8, y), (36, y)], style))?;
        legend.draw(&Text::new(name, (44, y - 7), ("sans-serif", 14)))?;
    }
    root.present()?;
    Ok(())
}

/// The core-to-core heatmap: a square per pair of cores, coloured from pale
/// (fastest pair) to dark red (slowest), its median in ns written inside
/// when the squares are large enough; `subtitle` names the machine.
pub fn draw_heatmap(
    path: &Path,
    matrix: &crate::core_to_core::Matrix,
    subtitle: &str,
) -> Result<(), Box<dyn Error>> {
    let count = matrix.cores.len().max(1) as i32;
    let cell = (640 / count).clamp(8, 120);
    let (left, top) = (56, 64);
    let side = cell * count;
    let width = (left + side + 150).max(560) as u32;
    let height = (top + side + 40) as u32;
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        "core-to-core latency: half a CAS round trip, ns (median)",
        (left, 12),
        ("sans-serif", 16),
    ))?;
    root.draw(&Text::new(
        subtitle.to_string(),
        (left, 34),
        ("sans-serif", 12),
    ))?;
    let (least, _, greatest) = matrix.summary().unwrap_or((0.0, 0.0, 1.0));
    let shade = |value: f64| {
        let t = if greatest > least {
            ((value - least) / (greatest - least)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        // Pale yellow (255, 237, 160) to dark red (165, 15, 21).
        let mix = |from: f64, to: f64| (from + (to - from) * t) as u8;
        RGBColor(mix(255.0, 165.0), mix(237.0, 15.0), mix(160.0, 21.0))
    };
    let label_every = (count / 16).max(1) as usize;
    for (row, &a) in matrix.cores.iter().enumerate() {
        let y = top + cell * row as i32;
        if row % label_every == 0 {
            root.draw(&Text::new(
                a.to_string(),
                (left - 28, y + cell / 2 - 6),
                ("sans-serif", 12),
            ))?;
            root.draw(&Text::new(
                a.to_string(),
                (left + cell * row as i32 + cell / 2 - 6, top - 16),
                ("sans-serif", 12),
            ))?;
        }
        for (column, &b) in matrix.cores.iter().enumerate() {
            let x = left + cell * column as i32;
            let corners = [(x, y), (x + cell - 1, y + cell - 1)];
            match matrix.get(a, b) {
                Some(pair) if a != b => {
                    root.draw(&Rectangle::new(corners, shade(pair.median).filled()))?;
                    if cell >= 40 {
                        let ink = if shade(pair.median).1 < 120 {
                            WHITE
                        } else {
                            BLACK
                        };
                        root.draw(&Text::new(
                            format!("{:.0}", pair.median),
                            (x + cell / 2 - 14, y + cell / 2 - 7),
                            ("sans-serif", 14).into_font().color(&ink),
                        ))?;
                    }
                }
                _ => root.draw(&Rectangle::new(corners, RGBColor(235, 235, 235).filled()))?,
            }
        }
    }
    // The colour scale beside the squares.
    let bar_x = left + side + 24;
    for step in 0..100 {
        let y = top + side * step / 100;
        let value = least + (greatest - least) * f64::from(step) / 100.0;
        root.draw(&Rectangle::new(
            [(bar_x, y), (bar_x + 16, y + side / 100 + 1)],
            shade(value).filled(),
        ))?;
    }
    root.draw(&Text::new(
        format!("{least:.0} ns"),
        (bar_x + 22, top),
        ("sans-serif", 12),
    ))?;
    root.draw(&Text::new(
        format!("{greatest:.0} ns"),
        (bar_x + 22, top + side - 12),
        ("sans-serif", 12),
    ))?;
    root.present()?;
    Ok(())
}
