//! What an analysis reads besides the weights: the knobs (one struct, shared by the CLI's
//! flags, the browser's JSON request and every analysis) and the inputs.

use serde::{Deserialize, Serialize};

use crate::analysis::ablation::Ablation;
use crate::analysis::patching::PatchKind;
use crate::model::Tokens;

/// Knobs some analyses take; every field has a default. The CLI's `toylens analyze` flags are
/// these fields (clap `flatten`), so a knob is declared once.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::Args))]
#[serde(default)]
pub struct Options {
    /// Layer of the weight views and per-layer cache views.
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, default_value_t = Options::default().layer))]
    pub layer: usize,
    /// Head to ablate (ablate_head, ablated_predictions).
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, default_value_t = Options::default().head))]
    pub head: usize,
    /// Comma-separated neurons (ablate_neurons, neuron_sum, stack_neuron_results, ablated_predictions).
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_delimiter = ','))]
    pub neurons: Vec<usize>,
    /// Singular directions to project onto (svd_*, unembed_directions).
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, default_value_t = Options::default().k))]
    pub k: usize,
    /// How many neurons top_neurons lists.
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, default_value_t = Options::default().top))]
    pub top: usize,
    /// Batch row for single-example views (neuron_acts).
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, default_value_t = Options::default().example))]
    pub example: usize,
    /// Comma-separated positions for the cache views (negative counts from the end); all when absent.
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_delimiter = ',', allow_hyphen_values = true))]
    pub positions: Option<Vec<i64>>,
    /// Zero or mean ablation.
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_enum, default_value_t = Options::default().ablation))]
    pub ablation: Ablation,
    /// What activation patching patches.
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_enum, default_value_t = Options::default().patch))]
    pub patch: PatchKind,
    /// Query position for attention_from (negative counts from the end).
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, default_value_t = Options::default().query, allow_hyphen_values = true))]
    pub query: i64,
    /// Digits per operand (addition_losses).
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, default_value_t = Options::default().num_digits))]
    pub num_digits: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            layer: 0,
            head: 0,
            neurons: vec![],
            k: 2,
            top: 10,
            example: 0,
            positions: None,
            ablation: Ablation::Zero,
            patch: PatchKind::ResidPre,
            query: -1,
            num_digits: 5,
        }
    }
}

/// The knobs by name, for the registry rows (which ones an analysis reads) and `--list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Opt {
    Layer,
    Head,
    Neurons,
    K,
    Top,
    Example,
    Positions,
    Ablation,
    Patch,
    Query,
    NumDigits,
    /// Corrupted tokens (`Inputs::corrupted`).
    Corrupted,
}

/// What an analysis reads besides the weights.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub tokens: Option<Tokens>,
    /// One per (batch, pos), −1 where not scored.
    pub targets: Option<Vec<i64>>,
    /// Group per (batch, pos) for the by-label views (default: the targets).
    pub labels: Option<Vec<i64>>,
    /// Names of the input tokens (d_vocab) and output classes (d_vocab_out); indices otherwise.
    pub vocab: Option<Vec<String>>,
    pub vocab_out: Option<Vec<String>>,
    /// Tokens for activation patching (default: the batch rolled by one example).
    pub corrupted: Option<Tokens>,
    pub opts: Options,
}
