//! The analysis library: every number the pages show. Each analysis computes on burn tensors
//! (so it runs on any backend) and reads back into plain serde structs (`LabeledTensor`:
//! shape, row-major values, axis names and labels) that the CLI prints and the browser
//! receives unchanged. TL-named functions follow TransformerLens 3.9 and are checked against
//! it (`crate/tests/integration/analysis.rs`, references from
//! `tests/fixtures/make_analysis_fixtures.py`).
//!
//! What each notebook runs, and where it lives:
//! * cumsum — loss and correct-label probabilities (`metrics`), attention patterns and uniform
//!   attention (`attention`, `ablation`), DLA of decompose_resid by label with mean ± std
//!   (`stacks`, `logit_attrs`, `grouping`), SVD of W_E / W_U / W_E·W_OV and projections onto
//!   their directions (`spectra`), full OV (`circuits`), neuron activations by label
//!   (`neurons`), W_out·W_U and biases on W_U (`circuits`).
//! * min — loss, mean attention from `=`, the (a, b) attention grid (`attention`), full OV and
//!   full QK (`circuits`), the diagonal-argmax fraction (`ov_diag`).
//! * sorting — loss/accuracy, predicted vs true next token, target logits / centred logits /
//!   log-probs (`metrics`), full QK and OV over token+position embeddings (`circuits`), DLA of
//!   embed, pos_embed, each head and the bias (`stacks::full_resid_decomposition`, `logit_attrs`).
//! * majority — patterns, per-component logit contributions through the final LN
//!   (`logit_attrs::dla_vocab`), full QK and W_E·W_OV·W_in (`circuits`), neuron heatmap and
//!   traces (`neurons`), value counts (`counts`), neuron ablation (`ablation`).
//! * addition — per-token and per-category losses (`addition`), patterns by category,
//!   logit lens and per-head attribution (`logit_attrs`, `stacks`), zero/mean ablation
//!   (`ablation`), activation patching (`patching`).
//!
//! The cumsum and majority notebooks analyse TL-processed weights (folded LayerNorm, centred
//! writing weights and unembedding, folded value biases): `crate::model::process` does the same
//! to a state dict.
//!
//! `catalog` names them all for the CLI (`toylens analyze --list`) and the browser.

pub mod ablation;
pub mod addition;
pub mod attention;
pub mod catalog;
pub mod circuits;
pub mod counts;
pub mod factored;
pub mod grouping;
pub mod labeled;
pub mod linalg;
pub mod ln_stack;
pub mod logit_attrs;
pub mod metrics;
pub mod neuron_scan;
pub mod neurons;
pub mod ov_diag;
pub mod patching;
pub mod request;
pub mod run;
pub mod sorting_example;
pub mod spectra;
pub mod stacks;
pub mod weights;

pub use factored::{FactoredMatrix, FactoredSvd};
pub use labeled::LabeledTensor;
pub use run::{CachedRun, Positions};
pub use stacks::Stack;
