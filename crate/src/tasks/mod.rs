//! The five notebook tasks. Each owns its config, token layout, data, labels and recipe;
//! the loss is the notebook's: mean cross-entropy over the positions whose target is set.

use rand::rngs::StdRng;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::params::StateDict;
use crate::model::{HookedTransformerConfig, Tokens};
use crate::train::recipe::Recipe;

pub mod addition;
pub mod cumsum;
pub mod info;
pub mod majority;
pub mod min;
pub mod sorting;

/// Marks a position the loss and accuracy skip.
pub const IGNORE: i64 = -1;

/// Tokens [batch, pos] with a target class per position (`IGNORE` where not scored).
/// Targets index the model's output classes (d_vocab_out).
#[derive(Clone, Debug)]
pub struct Batch {
    pub tokens: Tokens,
    pub targets: Vec<i64>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.tokens.batch
    }
    pub fn is_empty(&self) -> bool {
        self.tokens.batch == 0
    }
    /// Rows `idx` of this batch, in that order.
    pub fn select(&self, idx: &[usize]) -> Batch {
        let p = self.tokens.pos;
        let mut ids = Vec::with_capacity(idx.len() * p);
        let mut targets = Vec::with_capacity(idx.len() * p);
        for &i in idx {
            ids.extend_from_slice(&self.tokens.ids[i * p..(i + 1) * p]);
            targets.extend_from_slice(&self.targets[i * p..(i + 1) * p]);
        }
        Batch { tokens: Tokens { batch: idx.len(), pos: p, ids }, targets }
    }
}

/// Where a task's training examples come from.
pub enum TrainData {
    /// A fixed training set, reshuffled every epoch (the notebook's DataLoader).
    Fixed(Batch),
    /// Fresh examples every step from `Task::sample`.
    Fresh,
}

/// A task's figures of one training batch from its per-position losses (`Task::step_figures`).
pub type StepFigures = fn(&Batch, &[f32]) -> Result<Value>;

pub trait Task: Send + Sync {
    /// `cumsum`, `min`, `addition`, `majority` or `sorting`.
    fn id(&self) -> &'static str;
    /// The notebook's model config (TL kwargs, as `HookedTransformerConfig`).
    fn config(&self) -> HookedTransformerConfig;
    /// The notebook's training recipe (or ours, where the notebook gives none).
    fn recipe(&self) -> Recipe;
    /// The training set for a data seed.
    fn train_data(&self, seed: u64) -> TrainData;
    /// `n` fresh examples (for `TrainData::Fresh` tasks; others may also implement it).
    fn sample(&self, rng: &mut StdRng, n: usize) -> Batch;
    /// The fixed held-out set used by `eval` and the pretrained-model bars.
    fn held_out(&self) -> Batch;
    /// Targets for arbitrary token sequences (what the task's labeller says).
    fn label(&self, tokens: &Tokens) -> Result<Vec<i64>>;
    /// How a token reads on screen.
    fn token_str(&self, id: i64) -> String;
    /// The task's own figures on a batch, given its logits [batch, pos, d_vocab_out] row-major.
    fn figures(&self, _batch: &Batch, _logits: &[f32], _d_vocab_out: usize) -> Value {
        Value::Object(Default::default())
    }
    /// What the task logs of every training batch beyond its loss and accuracy (the curves
    /// a notebook draws from its training loop), given each position's loss [batch, pos] (0
    /// where not scored). None, the default: nothing, and the trainer reads no per-position
    /// loss back.
    fn step_figures(&self) -> Option<StepFigures> {
        None
    }
    /// Figures read off the weights rather than the logits: analyses of the catalog, by name,
    /// whose first value `toylens eval` prints beside the figures. Names, not code: a task
    /// imports nothing from `analysis` (the data flows task → model → analysis).
    fn weight_figures(&self) -> &'static [&'static str] {
        &[]
    }
    /// Names of the model's `n` output classes (the tokens they predict, unless the task's
    /// classes are something else).
    fn class_names(&self, n: usize) -> Vec<String> {
        (0..n as i64).map(|i| self.token_str(i)).collect()
    }
    /// What the notebook does to its weights before analysing them (`--process notebook`).
    fn notebook_processing(&self, _cfg: &HookedTransformerConfig, sd: &StateDict) -> Result<StateDict> {
        Ok(sd.clone())
    }
    /// The notebook's own initialisation (`init: notebook` in the recipe): a std per parameter.
    fn notebook_init(&self, _cfg: &HookedTransformerConfig) -> Option<StdRule> {
        None
    }
}

pub use crate::model::params::StdRule;

/// Checks every token of every sequence: `rule(position, token)` names what belongs at that
/// position when the token is wrong. One message format for every task's labeller.
pub(crate) fn check_tokens(
    task: &str,
    tokens: &Tokens,
    rule: impl Fn(usize, i64) -> Option<&'static str>,
) -> Result<()> {
    for (s, row) in tokens.ids.chunks(tokens.pos.max(1)).enumerate() {
        for (p, &t) in row.iter().enumerate() {
            if let Some(want) = rule(p, t) {
                return Err(Error::Tokens(format!(
                    "{task}: sequence {s}, position {p} must be {want}, found token {t}"
                )));
            }
        }
    }
    Ok(())
}

type MakeTask = fn() -> Box<dyn Task>;

/// Every task, by id, in the order the site lists the notebooks: the one table `by_id`,
/// `TASK_IDS` and so the CLI, the page and the tests read.
const TASKS: [(&str, MakeTask); 5] = [
    ("cumsum", || Box::new(cumsum::Cumsum)),
    ("min", || Box::new(min::MinOfTwo)),
    ("addition", || Box::new(addition::Addition)),
    ("majority", || Box::new(majority::Majority)),
    ("sorting", || Box::new(sorting::Sorting)),
];

pub const TASK_IDS: [&str; 5] = {
    let mut ids = [""; 5];
    let mut i = 0;
    while i < ids.len() {
        ids[i] = TASKS[i].0;
        i += 1;
    }
    ids
};

pub fn by_id(id: &str) -> Result<Box<dyn Task>> {
    match TASKS.iter().find(|(name, _)| *name == id) {
        Some((_, make)) => Ok(make()),
        None => Err(Error::Config(format!("unknown task {id:?} (one of: {})", TASK_IDS.join(", ")))),
    }
}
