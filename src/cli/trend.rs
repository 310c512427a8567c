//! A runbook's achieved RTO over time, as `history` draws it: the points (oldest first), the
//! budget, and the text sparkline; `history_svg.rs` draws the same points as a chart.

use serde::Serialize;

/// One point of a runbook's achieved-RTO trend.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    pub run_id: String,
    pub kind: String,
    pub started_at: String,
    pub achieved_rto_seconds: f64,
    #[serde(skip)]
    pub started_ms: i64,
}

/// A runbook's achieved RTO over time, oldest first.
#[derive(Clone, Debug, Serialize)]
pub struct Trend {
    pub runbook: String,
    pub rto_budget_seconds: Option<f64>,
    pub points: Vec<Point>,
}

/// `18.1s`, `1h2m`; `-` for none (as the run reports write durations).
pub fn dur(secs: Option<f64>) -> String {
    super::achieved::d(secs)
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of `values` (0 to their largest).
pub fn sparkline(values: &[f64]) -> String {
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    values
        .iter()
        .map(|v| {
            let i = if max > 0.0 { (v / max * 7.0).round() as usize } else { 0 };
            BARS[i.min(7)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_largest() {
        assert_eq!(sparkline(&[1.0, 2.0, 4.0, 8.0]), "▂▃▅█");
        assert_eq!(sparkline(&[0.0, 0.0]), "▁▁");
    }
}
