//! `history --format svg`: each runbook's achieved RTO over time against its RTO budget, one
//! panel per runbook, one marker shape per kind of run (plain run, partial drill, full drill:
//! the kinds that recover something and so have an achieved RTO), drawn with `plotters`' SVG
//! backend. No system fonts are needed: the backend writes text as SVG `<text>` elements (XML
//! escaped) and plotters estimates label sizes itself.

use super::trend::{dur, Trend};
use crate::model::time as clock;
use plotters::prelude::*;

const WIDTH: u32 = 900;
const PANEL: u32 = 360;

/// The chart of `trends` as an SVG document.
pub fn render(trends: &[Trend]) -> String {
    let mut svg = String::new();
    let panels = trends.len().max(1);
    let size = (WIDTH, PANEL * panels as u32);
    if let Err(e) = draw(&mut svg, size, trends) {
        // Drawing into a string fails only on impossible geometry: say so inside the picture.
        svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"40\"><text x=\"10\" y=\"25\">cannot draw the chart: {}</text></svg>\n",
            e.to_string().replace('&', "&amp;").replace('<', "&lt;")
        );
    }
    if !svg.ends_with('\n') {
        svg.push('\n');
    }
    svg
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(svg: &mut String, size: (u32, u32), trends: &[Trend]) -> DrawResult {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE)?;
    if trends.is_empty() {
        root.draw(&Text::new("no runs", (20, 30), ("sans-serif", 18)))?;
        root.present()?;
        return Ok(());
    }
    let areas = root.split_evenly((trends.len(), 1));
    for (area, t) in areas.iter().zip(trends) {
        panel(area, t)?;
    }
    root.present()?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    t: &Trend,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (mut x0, mut x1) = t
        .points
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), p| (lo.min(p.started_ms), hi.max(p.started_ms)));
    if t.points.is_empty() {
        let now = clock::now_ms();
        (x0, x1) = (now - 86_400_000, now);
    }
    // A little room either side, and a range even for a single point.
    let pad = ((x1 - x0) / 20).max(3_600_000);
    let (x0, x1) = (x0 - pad, x1 + pad);
    let top = t
        .points
        .iter()
        .map(|p| p.achieved_rto_seconds)
        .chain(t.rto_budget_seconds)
        .fold(1.0_f64, f64::max)
        * 1.15;
    let budget = t
        .rto_budget_seconds
        .map_or("no RTO budget".into(), |b| format!("RTO budget {}", dur(Some(b))));
    let caption = format!("{}: achieved RTO ({budget})", t.runbook);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(84)
        .build_cartesian_2d(x0..x1, 0.0..top)?;
    // Dates, or dates and times when the points span a few days only.
    let short = x1 - x0 < 3 * 86_400_000;
    let day = |x: &i64| {
        let at = clock::format(*x);
        if short {
            at.get(5..16).unwrap_or(&at).replace('T', " ")
        } else {
            at.chars().take(10).collect::<String>()
        }
    };
    let secs = |y: &f64| dur(Some(*y));
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&day)
        .y_label_formatter(&secs)
        .y_desc("achieved RTO")
        .draw()?;
    if let Some(b) = t.rto_budget_seconds {
        chart
            .draw_series(LineSeries::new([(x0, b), (x1, b)], RED.stroke_width(2)))?
            .label("RTO budget")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], RED.stroke_width(2)));
    }
    let at = |kind: &str| -> Vec<(i64, f64)> {
        t.points
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| (p.started_ms, p.achieved_rto_seconds))
            .collect()
    };
    let runs = at("run");
    if !runs.is_empty() {
        let style = BLUE.filled();
        chart
            .draw_series(runs.iter().map(|&c| Circle::new(c, 5, style)))?
            .label("run")
            .legend(move |c| Circle::new(c, 5, style));
    }
    let full = at("full");
    if !full.is_empty() {
        let style = GREEN.mix(0.9).filled();
        chart
            .draw_series(full.iter().map(|&c| TriangleMarker::new(c, 7, style)))?
            .label("full drill")
            .legend(move |c| TriangleMarker::new(c, 7, style));
    }
    let partial = at("partial");
    if !partial.is_empty() {
        let style = MAGENTA.stroke_width(2);
        chart
            .draw_series(partial.iter().map(|&c| Cross::new(c, 5, style)))?
            .label("partial drill")
            .legend(move |c| Cross::new(c, 5, style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
