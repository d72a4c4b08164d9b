//! A training recipe: optimizer, schedule, batch, length, init and frozen parameters,
//! as plain data so the CLI (`--set key=value`) and the browser can override any part.

use serde::{Deserialize, Serialize};

/// torch's two Adams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Optim {
    /// `torch.optim.Adam`: weight decay is L2 added to the gradient (coupled).
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64 },
    /// `torch.optim.AdamW`: decoupled weight decay.
    AdamW { lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64 },
}

impl Optim {
    pub fn adam(lr: f64) -> Self {
        Self::Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
    pub fn lr(&self) -> f64 {
        match self {
            Self::Adam { lr, .. } | Self::AdamW { lr, .. } => *lr,
        }
    }
}

/// How the learning rate (and, for OneCycle, beta1) moves over training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// lr × factor, the factor going linearly from `start_factor` to `end_factor`,
    /// stepped once per epoch (torch `LinearLR(total_iters = epochs)` stepped per epoch).
    LinearPerEpoch {
        start_factor: f64,
        end_factor: f64,
        epochs: usize,
    },
    /// torch `LambdaLR(lambda step: min(step / warmup, 1))`, stepped per batch.
    Warmup {
        steps: usize,
    },
    /// torch `OneCycleLR` with its defaults (cosine, pct_start 0.3, div 25, final div 1e4,
    /// beta1 cycled between 0.95 and 0.85).
    OneCycle {
        max_lr: f64,
        total_steps: usize,
    },
}

/// How to initialise a fresh model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitKind {
    /// TransformerLens' default (`W_*` ~ N(0, initializer_range)).
    TransformerLens,
    /// The task's notebook draws its own (`Task::notebook_init`; addition's: weights
    /// ~ N(0, 1/d_model), W_U ~ N(0, 1/d_vocab_out)).
    #[serde(alias = "addition_notebook")]
    Notebook,
}

/// When a run counts as done, for `bench`'s time-to-target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub max_loss: Option<f64>,
    pub min_accuracy: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    pub optim: Optim,
    pub schedule: Schedule,
    pub batch_size: usize,
    /// Total optimizer steps.
    pub steps: usize,
    pub seed: u64,
    pub init: InitKind,
    /// Regex over TL parameter names to zero and freeze (e.g. `\.b_` for all biases).
    pub freeze: Option<String>,
    pub target: Target,
    /// Held-out evaluation every this many steps (0 = only at the end).
    pub eval_every: usize,
}

/// The four knobs a reader turns (the page's training panel; the CLI's `--steps`, `--seed`
/// and `--set lr=` / `batch_size=`): what is not given keeps the recipe's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub seed: Option<u64>,
    pub steps: Option<usize>,
    pub lr: Option<f64>,
    pub batch: Option<usize>,
}

impl Recipe {
    /// The recipe with `s` applied. A OneCycle schedule is fitted to them: its cycle spans the
    /// run's steps and peaks at the lr asked for (otherwise a shorter run would end mid warm-up,
    /// never annealed, and a new lr would not reach the schedule at all).
    pub fn with_settings(&self, s: &Settings) -> Recipe {
        let mut r = self.clone();
        if let Some(seed) = s.seed {
            r.seed = seed;
        }
        if let Some(steps) = s.steps.filter(|&n| n > 0) {
            r.steps = steps;
            if let Schedule::OneCycle { total_steps, .. } = &mut r.schedule {
                *total_steps = steps;
            }
        }
        if let Some(lr) = s.lr.filter(|&x| x > 0.0 && x.is_finite()) {
            match &mut r.optim {
                Optim::Adam { lr: l, .. } | Optim::AdamW { lr: l, .. } => *l = lr,
            }
            if let Schedule::OneCycle { max_lr, .. } = &mut r.schedule {
                *max_lr = lr;
            }
        }
        if let Some(batch) = s.batch.filter(|&n| n > 0) {
            r.batch_size = batch;
        }
        r
    }

    /// The knobs as this recipe has them (the lr a OneCycle run peaks at).
    pub fn settings(&self) -> Settings {
        let lr = match self.schedule {
            Schedule::OneCycle { max_lr, .. } => max_lr,
            _ => self.optim.lr(),
        };
        Settings { seed: Some(self.seed), steps: Some(self.steps), lr: Some(lr), batch: Some(self.batch_size) }
    }

    /// Whether a run of this recipe evaluates on the held-out set after `step` steps: every
    /// `eval_every` steps, and at the end (the CLI's metrics and the page's curves alike).
    pub fn evaluates_at(&self, step: usize) -> bool {
        let every = if self.eval_every == 0 { self.steps } else { self.eval_every };
        step > 0 && (step.is_multiple_of(every.max(1)) || step == self.steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_cycle() -> Recipe {
        Recipe {
            optim: Optim::adam(1e-3),
            schedule: Schedule::OneCycle { max_lr: 1e-3, total_steps: 420 },
            batch_size: 256,
            steps: 420,
            seed: 0,
            init: InitKind::TransformerLens,
            freeze: None,
            target: Target::default(),
            eval_every: 50,
        }
    }

    #[test]
    fn settings_fit_a_one_cycle_schedule() {
        let r = one_cycle().with_settings(&Settings { steps: Some(12), lr: Some(3e-3), ..Settings::default() });
        assert_eq!(r.schedule, Schedule::OneCycle { max_lr: 3e-3, total_steps: 12 });
        assert_eq!((r.steps, r.optim.lr(), r.batch_size), (12, 3e-3, 256));
        // The last step anneals to max_lr / (25 · 1e4), as torch's OneCycleLR does.
        let last = r.schedule.lr(r.optim.lr(), 11, 0);
        assert!(last < 3e-3 / 1e4, "lr at the last of 12 steps: {last}");
        assert_eq!(r.settings(), Settings { seed: Some(0), steps: Some(12), lr: Some(3e-3), batch: Some(256) });
    }

    #[test]
    fn unset_or_nonsense_settings_keep_the_recipe() {
        let r = one_cycle();
        assert_eq!(r.with_settings(&Settings::default()), r);
        assert_eq!(r.with_settings(&Settings { steps: Some(0), lr: Some(f64::NAN), batch: Some(0), seed: None }), r);
    }

    #[test]
    fn evaluations_every_eval_every_and_at_the_end() {
        let r = one_cycle().with_settings(&Settings { steps: Some(120), ..Settings::default() });
        let at: Vec<usize> = (0..=120).filter(|&s| r.evaluates_at(s)).collect();
        assert_eq!(at, vec![50, 100, 120]);
    }
}
