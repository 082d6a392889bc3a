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

/// Draws `rows` (one workload) into `path`; `cores` places the oversubscription mark.
pub fn draw(path: &Path, title: &str, rows: &[&Row], cores: usize) -> Result<(), Box<dyn Error>> {
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
        .x_desc("threads")
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
