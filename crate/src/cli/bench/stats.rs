//! The bench's statistics of per-step times: order, quantiles, the median and the spread.

use serde_json::{Value, json};

/// `times` in ascending order.
fn sorted(times: &[f64]) -> Vec<f64> {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    t
}

/// The `p` quantile (nearest rank) of ascending `sorted`; NaN when empty.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len().max(1) - 1) as f64 * p).round() as usize).copied().unwrap_or(f64::NAN)
}

/// The median and spread of per-step times (seconds) pooled over rounds.
pub fn step_stats(times: &[f64]) -> Value {
    let t = sorted(times);
    let q = |p: f64| quantile(&t, p);
    json!({"median_ms": q(0.5) * 1e3, "p10_ms": q(0.1) * 1e3, "p90_ms": q(0.9) * 1e3,
           "steps_per_s": 1.0 / q(0.5), "steps": t.len()})
}

pub fn median(v: &[f64]) -> f64 {
    quantile(&sorted(v), 0.5)
}
