//! The replay file of a bench run: the batches toylens trained on, the held-out set and the
//! schedule as applied, so the PyTorch reference (bench/torch_ref.py) trains on the very same
//! data value for value; with the config and recipe beside it as JSON.

use std::path::Path;

use serde_json::json;

use crate::io::safetensors::{OutTensor, write_tensors};
use crate::model::HookedTransformerConfig;
use crate::tasks::{self, Batch};
use crate::train::Recipe;
use crate::{Error, Result};

pub struct Replay<'a> {
    pub batches: &'a [Batch],
    pub held: &'a Batch,
    pub lrs: &'a [f32],
    pub beta1s: &'a [f32],
}

impl Replay<'_> {
    /// Writes `<stem>.safetensors` and `<stem>.json` into `dir`.
    pub fn write(&self, dir: &Path, stem: &str, cfg: &HookedTransformerConfig, recipe: &Recipe) -> Result<()> {
        let (shape, toks, tgts) = stack(self.batches);
        let held = self.held;
        let data = write_tensors(&[
            ("tokens".into(), OutTensor::I64 { shape: &shape, values: &toks }),
            ("targets".into(), OutTensor::I64 { shape: &shape, values: &tgts }),
            ("held_tokens".into(), OutTensor::I64 { shape: &[held.len(), held.tokens.pos], values: &held.tokens.ids }),
            ("held_targets".into(), OutTensor::I64 { shape: &[held.len(), held.tokens.pos], values: &held.targets }),
            ("lr".into(), OutTensor::F32 { shape: &[self.lrs.len()], values: self.lrs }),
            ("beta1".into(), OutTensor::F32 { shape: &[self.beta1s.len()], values: self.beta1s }),
        ])?;
        std::fs::write(dir.join(format!("{stem}.safetensors")), data).map_err(|e| Error::Io(e.to_string()))?;
        let eval_every = if recipe.eval_every == 0 { recipe.steps } else { recipe.eval_every };
        let meta = json!({"config": cfg.to_json(), "recipe": recipe, "eval_every": eval_every});
        std::fs::write(dir.join(format!("{stem}.json")), meta.to_string()).map_err(|e| Error::Io(e.to_string()))
    }
}

fn stack(batches: &[Batch]) -> (Vec<usize>, Vec<i64>, Vec<i64>) {
    // Fixed-set epochs end with a short batch; pad it with ignored rows so batches stack.
    let b = batches.iter().map(|x| x.len()).max().unwrap_or(0);
    let p = batches.first().map(|x| x.tokens.pos).unwrap_or(0);
    let (mut toks, mut tgts) = (vec![], vec![]);
    for x in batches {
        toks.extend_from_slice(&x.tokens.ids);
        tgts.extend_from_slice(&x.targets);
        let pad = (b - x.len()) * p;
        toks.extend(std::iter::repeat_n(0, pad));
        tgts.extend(std::iter::repeat_n(tasks::IGNORE, pad));
    }
    (vec![batches.len(), b, p], toks, tgts)
}
