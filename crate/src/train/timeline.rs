//! The training timeline: which steps keep a checkpoint, and how many fit the budget. The CLI
//! (shipped models) and the page (the reader's run) both take their schedule from here.

use serde::Serialize;

use crate::model::HookedTransformerConfig;

/// Bytes a timeline's checkpoints may take (addition's 3.2 M parameters: 6 in f16).
pub const BUDGET_BYTES: usize = 48 << 20;
/// Checkpoints in a timeline when the budget allows.
pub const MAX_CHECKPOINTS: usize = 20;
/// Models above this many parameters keep their timeline in f16 (CLI files only).
pub const HALF_ABOVE_PARAMS: usize = 1_000_000;

/// Log-spaced steps in 1..=total (and always `total`): about `n` of them.
pub fn checkpoint_steps(total: usize, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n)
        .map(|i| {
            let f = if n > 1 { i as f64 / (n - 1) as f64 } else { 1.0 };
            ((total as f64).powf(f)).round() as usize
        })
        .filter(|&s| s >= 1 && s <= total)
        .collect();
    v.push(total);
    v.sort_unstable();
    v.dedup();
    v
}

/// How a model's timeline is kept.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TimelinePlan {
    pub budget_bytes: usize,
    pub bytes_per_checkpoint: usize,
    /// Checkpoints that fit the budget (2 at least, `MAX_CHECKPOINTS` at most).
    pub checkpoints: usize,
    pub half: bool,
}

impl TimelinePlan {
    /// `f16_allowed`: the CLI writes big models' timelines in f16; the page keeps f32.
    pub fn new(cfg: &HookedTransformerConfig, f16_allowed: bool) -> Self {
        let half = f16_allowed && cfg.n_params() > HALF_ABOVE_PARAMS;
        let bytes_per_checkpoint = cfg.n_params() * if half { 2 } else { 4 };
        let checkpoints = (BUDGET_BYTES / bytes_per_checkpoint.max(1)).clamp(2, MAX_CHECKPOINTS);
        Self { budget_bytes: BUDGET_BYTES, bytes_per_checkpoint, checkpoints, half }
    }

    pub fn steps(&self, total: usize) -> Vec<usize> {
        checkpoint_steps(total, self.checkpoints)
    }
}
