//! Learning-rate (and beta1) schedules, step for step as torch's schedulers produce them.

use super::recipe::Schedule;

/// torch OneCycleLR's defaults.
const PCT_START: f64 = 0.3;
const DIV_FACTOR: f64 = 25.0;
const FINAL_DIV_FACTOR: f64 = 1e4;
const BASE_MOMENTUM: f64 = 0.85;
const MAX_MOMENTUM: f64 = 0.95;

/// torch's `_annealing_cos`.
fn cos_anneal(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
}

impl Schedule {
    /// The learning rate for optimizer step `step` (0-based), in epoch `epoch`, for base lr `lr`.
    pub fn lr(&self, lr: f64, step: usize, epoch: usize) -> f64 {
        match *self {
            Schedule::Constant => lr,
            Schedule::LinearPerEpoch { start_factor, end_factor, epochs } => {
                let t = if epochs > 1 { (epoch.min(epochs - 1)) as f64 / (epochs - 1) as f64 } else { 0.0 };
                lr * (start_factor + (end_factor - start_factor) * t)
            }
            Schedule::Warmup { steps } => lr * (step as f64 / steps.max(1) as f64).min(1.0),
            Schedule::OneCycle { max_lr, total_steps } => {
                let initial = max_lr / DIV_FACTOR;
                let min_lr = initial / FINAL_DIV_FACTOR;
                let (phase, pct) = one_cycle_phase(step, total_steps);
                if phase == 0 { cos_anneal(initial, max_lr, pct) } else { cos_anneal(max_lr, min_lr, pct) }
            }
        }
    }

    /// beta1 for the step when the schedule cycles momentum (OneCycle), else `None`.
    pub fn beta1(&self, step: usize) -> Option<f64> {
        match *self {
            Schedule::OneCycle { total_steps, .. } => {
                let (phase, pct) = one_cycle_phase(step, total_steps);
                Some(if phase == 0 {
                    cos_anneal(MAX_MOMENTUM, BASE_MOMENTUM, pct)
                } else {
                    cos_anneal(BASE_MOMENTUM, MAX_MOMENTUM, pct)
                })
            }
            _ => None,
        }
    }
}

/// torch's two phases: warm-up ends at `pct_start·total − 1`, annealing at `total − 1`.
fn one_cycle_phase(step: usize, total: usize) -> (u8, f64) {
    let end1 = PCT_START * total as f64 - 1.0;
    let end2 = total as f64 - 1.0;
    let s = step as f64;
    if s <= end1 { (0, if end1 > 0.0 { s / end1 } else { 1.0 }) } else { (1, ((s - end1) / (end2 - end1)).min(1.0)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cycle_matches_torch() {
        // Values from torch.optim.lr_scheduler.OneCycleLR(max_lr=0.01, total_steps=100) on AdamW:
        // step 0: lr 4e-4, beta1 0.95; step 29: lr 0.01, beta1 0.85; step 99: lr 4e-8, beta1 0.95.
        let s = Schedule::OneCycle { max_lr: 0.01, total_steps: 100 };
        assert!((s.lr(1.0, 0, 0) - 4e-4).abs() < 1e-12);
        assert!((s.lr(1.0, 29, 0) - 0.01).abs() < 1e-12);
        assert!((s.lr(1.0, 99, 0) - 4e-8).abs() < 1e-15);
        assert!((s.beta1(0).unwrap() - 0.95).abs() < 1e-12);
        assert!((s.beta1(29).unwrap() - 0.85).abs() < 1e-12);
        assert!((s.beta1(99).unwrap() - 0.95).abs() < 1e-12);
        assert!((s.lr(1.0, 30, 0) - 0.009994965352845242).abs() < 1e-15);
        assert!((s.beta1(30).unwrap() - 0.8500503466729342).abs() < 1e-12);
        // Half-way through warm-up, cosine puts lr at the midpoint.
        let mid = s.lr(1.0, 0, 0) / 2.0 + 0.005;
        let end1 = 0.3 * 100.0 - 1.0;
        let half = (end1 / 2.0) as usize; // 14.5 → step 14 is just under half
        assert!(s.lr(1.0, half, 0) < mid && s.lr(1.0, half + 1, 0) > mid);
    }

    #[test]
    fn warmup_and_linear() {
        let w = Schedule::Warmup { steps: 10 };
        assert_eq!(w.lr(1e-4, 0, 0), 0.0);
        assert!((w.lr(1e-4, 5, 0) - 5e-5).abs() < 1e-15);
        assert_eq!(w.lr(1e-4, 50, 0), 1e-4);
        let l = Schedule::LinearPerEpoch { start_factor: 1.0, end_factor: 0.1, epochs: 20 };
        assert_eq!(l.lr(1e-3, 0, 0), 1e-3);
        assert!((l.lr(1e-3, 9999, 19) - 1e-4).abs() < 1e-15);
    }
}
