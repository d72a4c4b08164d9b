//! Everything the sorting page draws of the reader's list, from one forward pass: the
//! per-position predictions with the target's logit, centred logit and log-prob
//! (`metrics::target_token_stats`), the direct logit attribution of embed, pos_embed, each
//! head and the bias to the target (`full_resid_decomposition` + `logit_attrs`), and the
//! attention pattern. The page recomputes these on every edit; one call instead of three
//! keeps an edit under a frame.

use serde::{Deserialize, Serialize};

use super::catalog::{filled, nan_where_unscored};
use super::labeled::LabeledTensor;
use super::metrics::{TargetTokenStats, target_token_stats};
use super::run::{CachedRun, Positions};
use crate::error::Result;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SortingExample {
    /// As the `predictions` analysis.
    pub predictions: TargetTokenStats,
    /// As the `logit_attrs` analysis: [component, batch, pos], NaN where unscored.
    pub logit_attrs: LabeledTensor,
    /// As `attention_pattern` of `layer`: [batch, head, query, key].
    pub attention: LabeledTensor,
}

impl CachedRun {
    /// Direct logit attribution of the full residual decomposition to each position's target
    /// [component, batch, pos] (NaN where unscored).
    pub fn target_logit_attrs(&self, targets: &[i64]) -> Result<LabeledTensor> {
        let (fill, scored) = filled(targets);
        let s = self.full_resid_decomposition(None, false, false, &Positions::All)?;
        let comps = s.labels.clone();
        let a = LabeledTensor::read(self.logit_attrs(s, &fill, None)?, &["component", "batch", "pos"])?
            .label("component", comps);
        Ok(nan_where_unscored(a, &scored))
    }

    pub fn sorting_example(&self, targets: &[i64], layer: usize) -> Result<SortingExample> {
        Ok(SortingExample {
            predictions: target_token_stats(self.logits.clone(), targets)?,
            logit_attrs: self.target_logit_attrs(targets)?,
            attention: LabeledTensor::read(self.pattern(layer)?, &["batch", "head", "query", "key"])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::Value;

    use crate::analysis::catalog::{self, Inputs};
    use crate::model::HookedTransformer;
    use crate::tasks::{Task, sorting};

    /// The one call returns exactly what the three separate analyses return.
    #[test]
    fn sorting_example_is_its_three_parts() {
        let task = sorting::Sorting;
        let model = HookedTransformer::init(&task.config(), &Device::flex()).unwrap();
        let b = sorting::generate(&mut StdRng::seed_from_u64(7), 2);
        let inputs = Inputs { tokens: Some(b.tokens), targets: Some(b.targets), ..Inputs::default() };
        let run = |what: &str| catalog::run(what, &model, &inputs).unwrap();
        let one = run("sorting_example");
        let strip = |mut v: Value| {
            v.as_object_mut().unwrap().retain(|k, _| k != "analysis" && k != "task");
            v
        };
        for field in ["logit", "centered_logit", "log_prob", "predicted", "target"] {
            assert_eq!(one["predictions"][field], run("predictions")[field], "{field}");
        }
        assert_eq!(strip(one["logit_attrs"].clone()), strip(run("logit_attrs")));
        let pattern = run("attention_pattern");
        assert_eq!(one["attention"]["values"], pattern["values"]);
        assert_eq!(one["attention"]["shape"], pattern["shape"]);
    }
}
