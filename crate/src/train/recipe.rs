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
