//! Data-parallel steps: several replicas of one run (the page's CPU workers) each compute the
//! gradients of one shard of the step's batch, then every replica applies the same mean of all
//! the shards, so the replicas stay identical, bit for bit.
//!
//! The mean is the full batch's gradient: the loss is a mean over scored positions, so shard k
//! (c_k scored positions, gradient g_k of its own mean) weighs c_k / Σc. Every replica sums the
//! shards in index order, so each computes the same floats. A run with one worker never comes
//! here: its steps stay exactly those of `Trainer::step`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{Error, Result};

const FORMAT: &str = "toylens-shard-1";

/// One replica's part of a step: its gradients and its loss, as it travels between workers.
#[derive(Clone, Debug, PartialEq)]
pub struct Shard {
    /// The optimizer step this shard belongs to (the run's step count before it).
    pub step: usize,
    pub index: usize,
    pub of: usize,
    /// Mean loss and accuracy over this shard's scored positions (0 when it has none).
    pub loss: f32,
    pub accuracy: f32,
    /// Scored positions in this shard: its weight in the mean.
    pub count: usize,
    /// Flattened gradients by TL parameter name (empty when `count` is 0).
    pub grads: BTreeMap<String, Vec<f32>>,
    /// Each position's loss [rows, pos] (0 where not scored), for the task's step figures;
    /// empty when the task has none.
    pub nll: Vec<f32>,
}

/// The name `nll` travels under: not a TL parameter name, so no gradient can take it.
const NLL: &str = "toylens.nll";

/// Rows of shard `index` of `of` in a batch of `n`: contiguous, sizes differing by at most one.
pub fn shard_rows(n: usize, index: usize, of: usize) -> Range<usize> {
    n * index / of..n * (index + 1) / of
}

/// The step as all shards together make it: what every replica applies.
#[derive(Debug)]
pub struct Combined {
    pub loss: f32,
    pub accuracy: f32,
    pub grads: BTreeMap<String, Vec<f32>>,
}

impl Shard {
    /// As safetensors. The f32s are copied as they lie in memory (little-endian on wasm32 and
    /// x86, where this runs): a step's shard is addition's 3.2 M gradients, and a per-value
    /// conversion (io::safetensors, for files) cost more than the copy.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let views = self
            .grads
            .iter()
            .map(|(n, v)| {
                TensorView::new(Dtype::F32, vec![v.len()], bytemuck::cast_slice(v))
                    .map(|t| (n.clone(), t))
                    .map_err(|e| Error::Io(format!("shard tensor {n}: {e}")))
            })
            .chain((!self.nll.is_empty()).then(|| {
                TensorView::new(Dtype::F32, vec![self.nll.len()], bytemuck::cast_slice(&self.nll))
                    .map(|t| (NLL.to_string(), t))
                    .map_err(|e| Error::Io(format!("shard losses: {e}")))
            }))
            .collect::<Result<Vec<_>>>()?;
        let meta = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("step".to_string(), self.step.to_string()),
            ("index".to_string(), self.index.to_string()),
            ("of".to_string(), self.of.to_string()),
            // Rust prints an f32 in the fewest digits that read back to the same float.
            ("loss".to_string(), self.loss.to_string()),
            ("accuracy".to_string(), self.accuracy.to_string()),
            ("count".to_string(), self.count.to_string()),
        ]);
        safetensors::tensor::serialize(views, Some(meta)).map_err(|e| Error::Io(format!("writing a shard: {e}")))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |why: String| Error::Weights(format!("not a training shard: {why}"));
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let meta = header.metadata().clone().ok_or_else(|| bad("no metadata".into()))?;
        if meta.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(bad(format!("format {:?}", meta.get("format"))));
        }
        fn field<T: std::str::FromStr>(meta: &HashMap<String, String>, key: &str) -> Result<T> {
            meta.get(key)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::Weights(format!("not a training shard: no readable {key}")))
        }
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let mut grads = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(bad(format!("{name} is {:?}, not F32", view.dtype())));
            }
            // Collected, not cast: the data need not be 4-byte aligned in `bytes`.
            grads.insert(name, bytemuck::pod_collect_to_vec::<u8, f32>(view.data()));
        }
        let nll = grads.remove(NLL).unwrap_or_default();
        Ok(Shard {
            step: field(&meta, "step")?,
            index: field(&meta, "index")?,
            of: field(&meta, "of")?,
            loss: field(&meta, "loss")?,
            accuracy: field(&meta, "accuracy")?,
            count: field(&meta, "count")?,
            grads,
            nll,
        })
    }
}

/// The shards of step `step`, one of each index 0..`of`, as one step: the count-weighted mean
/// of their losses, accuracies and gradients. A missing, repeated or stale shard is an error
/// (the replicas would drift apart).
pub fn combine(shards: &[&Shard], step: usize, of: usize) -> Result<Combined> {
    let bad = |why: String| Error::Training(format!("data-parallel step {step}: {why}"));
    let mut ordered: Vec<&Shard> = shards.to_vec();
    ordered.sort_by_key(|s| s.index);
    let indices: Vec<usize> = ordered.iter().map(|s| s.index).collect();
    if indices != (0..of).collect::<Vec<_>>() || ordered.iter().any(|s| s.of != of) {
        return Err(bad(format!("expected shards 0..{of} of {of}, got {indices:?}")));
    }
    if let Some(s) = ordered.iter().find(|s| s.step != step) {
        return Err(bad(format!("shard {} is of step {}", s.index, s.step)));
    }
    let total: usize = ordered.iter().map(|s| s.count).sum();
    let mean = |f: fn(&Shard) -> f32| {
        (ordered.iter().map(|s| s.count as f64 * f(s) as f64).sum::<f64>() / total as f64) as f32
    };
    // No scored position at all: NaN, as the single-worker loss's 0/0 (the trainer stops).
    let (loss, accuracy) = (mean(|s| s.loss), mean(|s| s.accuracy));
    let mut grads: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let mut first: Option<&Shard> = None;
    for s in ordered.iter().filter(|s| s.count > 0) {
        let w = (s.count as f64 / total as f64) as f32;
        match first {
            None => {
                grads = s.grads.iter().map(|(n, g)| (n.clone(), g.iter().map(|x| w * x).collect())).collect();
                first = Some(s);
            }
            Some(f) => {
                if s.grads.len() != grads.len() {
                    return Err(bad(format!("shards {} and {} hold different parameters", f.index, s.index)));
                }
                for (name, g) in &s.grads {
                    match grads.get_mut(name) {
                        Some(acc) if acc.len() == g.len() => acc.iter_mut().zip(g).for_each(|(a, x)| *a += w * x),
                        _ => return Err(bad(format!("shards {} and {} disagree on {name}", f.index, s.index))),
                    }
                }
            }
        }
    }
    Ok(Combined { loss, accuracy, grads })
}

/// A backward pass's gradients as flat tensors named by parameter (TL names), in module order.
pub fn grads_by_name<M: burn::module::Module>(model: &M, mut grads: GradientsParams) -> Vec<(String, Tensor<1>)> {
    let mut v = GradsByName { path: vec![], grads: &mut grads, out: vec![] };
    model.visit(&mut v);
    v.out
}

struct GradsByName<'a> {
    path: Vec<String>,
    grads: &'a mut GradientsParams,
    out: Vec<(String, Tensor<1>)>,
}

impl ModuleVisitor for GradsByName<'_> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        // Frozen parameters have no gradient, and no entry.
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let n: usize = g.dims().iter().product();
            self.out.push((self.path.join("."), g.reshape([n])));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(index: usize, count: usize, loss: f32, g: Vec<f32>) -> Shard {
        Shard {
            step: 3,
            index,
            of: 2,
            loss,
            accuracy: 0.5,
            count,
            grads: BTreeMap::from([("w".to_string(), g)]),
            nll: vec![],
        }
    }

    #[test]
    fn rows_cover_the_batch_once() {
        for (n, of) in [(64, 2), (5, 3), (1, 2), (0, 4)] {
            let all: Vec<usize> = (0..of).flat_map(|k| shard_rows(n, k, of)).collect();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn combine_weighs_by_scored_positions_and_checks_its_shards() {
        let (a, b) = (shard(0, 3, 1.0, vec![1.0, 2.0]), shard(1, 1, 5.0, vec![5.0, -2.0]));
        let c = combine(&[&b, &a], 3, 2).unwrap();
        assert_eq!(c.loss, 2.0);
        assert_eq!(c.grads["w"], vec![2.0, 1.0]);
        // An empty shard (a short last batch) weighs nothing.
        let empty = Shard { count: 0, grads: BTreeMap::new(), ..shard(1, 0, 0.0, vec![]) };
        assert_eq!(combine(&[&a, &empty], 3, 2).unwrap().grads["w"], vec![1.0, 2.0]);
        assert!(combine(&[&a], 3, 2).is_err());
        assert!(combine(&[&a, &a], 3, 2).is_err());
        assert!(combine(&[&a, &b], 4, 2).is_err());
        assert!(combine(&[&a, &shard(1, 1, 5.0, vec![1.0])], 3, 2).is_err());
    }

    #[test]
    fn bytes_round_trip() {
        let s = Shard { loss: f32::NAN, ..shard(1, 7, 0.0, vec![0.1, -3.5e-20]) };
        let back = Shard::from_bytes(&s.to_bytes().unwrap()).unwrap();
        assert!(back.loss.is_nan());
        assert_eq!(Shard { loss: 0.0, ..back }, Shard { loss: 0.0, ..s });
        let s = shard(0, 2, 1.0 / 3.0, vec![]);
        assert_eq!(Shard::from_bytes(&s.to_bytes().unwrap()).unwrap(), s);
        let s = Shard { nll: vec![0.0, 2.5, 0.125], ..shard(1, 2, 1.0, vec![1.0]) };
        assert_eq!(Shard::from_bytes(&s.to_bytes().unwrap()).unwrap(), s);
        assert!(Shard::from_bytes(b"garbage").is_err());
    }

    // A task's figures of each training batch (addition's notebook losses) are the whole
    // batch's on a data-parallel step too, as on one worker.
    #[test]
    fn replicas_log_the_whole_batch_figures() {
        use crate::model::HookedTransformerConfig;
        use crate::tasks;
        use crate::train::{Trainer, block_on};
        use burn::tensor::Device;
        let device = Device::flex();
        let task = tasks::by_id("addition").unwrap();
        let mut cfg = task.config().to_json();
        for (k, v) in [("d_model", 32), ("d_head", 8), ("d_mlp", 64)] {
            cfg[k] = v.into();
        }
        let cfg = HookedTransformerConfig::from_json_str(&cfg.to_string()).unwrap();
        let mut recipe = task.recipe();
        recipe.batch_size = 9;
        // Every trainer starts from the first one's weights: a seeded init draws from the
        // device's one RNG, which tests running at the same time share.
        let one = Trainer::new(tasks::by_id("addition").unwrap(), cfg.clone(), recipe.clone(), &device).unwrap();
        let from = one.model().clone();
        let new = || {
            Trainer::with_model(tasks::by_id("addition").unwrap(), cfg.clone(), recipe.clone(), &device, from.clone())
                .unwrap()
        };
        let (mut one, mut reps) = (one, [new(), new()]);
        for _ in 0..2 {
            let want = one.step().unwrap().figures.expect("addition logs its batches");
            let shards: Vec<Shard> = reps
                .iter_mut()
                .enumerate()
                .map(|(k, r)| Shard::from_bytes(&block_on(r.shard_async(k, 2)).unwrap().to_bytes().unwrap()).unwrap())
                .collect();
            let got = reps[1].apply_shards(&shards[..1]).unwrap().figures.expect("figures of the whole batch");
            let per = |v: &serde_json::Value| -> Vec<f64> {
                v["per_token"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
            };
            assert_eq!(per(&want).len(), 6);
            for (a, b) in per(&want).iter().zip(per(&got)) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
            let cases = |v: &serde_json::Value, k: &str| v[k].clone();
            for k in ["ba_perdigit_cases", "uc1_perdigit_cases", "us9_perdigit_cases"] {
                assert_eq!(cases(&want, k), cases(&got, k), "{k}");
            }
            reps[0].apply_shards(&shards[1..]).unwrap();
        }
    }

    // Two replicas stepping together follow the single-worker run (up to float order) and
    // stay identical to each other, bit for bit.
    #[test]
    fn replicas_follow_one_worker_and_each_other() {
        use crate::tasks;
        use crate::train::{Trainer, block_on};
        use burn::tensor::Device;
        let device = Device::flex();
        let task = tasks::by_id("sorting").unwrap();
        let mut recipe = task.recipe();
        recipe.batch_size = 9; // shards of 4 and 5 rows
        // Every trainer starts from the first one's weights (see the test above).
        let one = Trainer::new(tasks::by_id("sorting").unwrap(), task.config(), recipe.clone(), &device).unwrap();
        let from = one.model().clone();
        let new = || {
            Trainer::with_model(tasks::by_id("sorting").unwrap(), task.config(), recipe.clone(), &device, from.clone())
                .unwrap()
        };
        let (mut one, mut reps) = (one, [new(), new()]);
        for _ in 0..4 {
            let want = one.step().unwrap();
            // Each replica gets the other's shard, through bytes as between workers.
            let shards: Vec<Shard> = reps
                .iter_mut()
                .enumerate()
                .map(|(k, r)| Shard::from_bytes(&block_on(r.shard_async(k, 2)).unwrap().to_bytes().unwrap()).unwrap())
                .collect();
            assert!(reps[0].step().is_err(), "a pending step refuses a plain one");
            let logs: Vec<_> =
                reps.iter_mut().enumerate().map(|(k, r)| r.apply_shards(&shards[1 - k..2 - k]).unwrap()).collect();
            assert_eq!(logs[0].loss, logs[1].loss);
            assert!((logs[0].loss - want.loss).abs() < 1e-5, "{} vs one worker {}", logs[0].loss, want.loss);
            assert_eq!((logs[0].step, reps[0].step), (want.step, one.step));
        }
        let weights = |t: &Trainer| t.model().state_dict().unwrap();
        let (w0, w1, w) = (weights(&reps[0]), weights(&reps[1]), weights(&one));
        for ((a, b), c) in w0.iter().zip(&w1).zip(&w) {
            assert_eq!(a.values, b.values, "{}", a.name);
            let d = a.values.iter().zip(&c.values).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            assert!(d < 1e-4, "{}: {d} from the single-worker run", a.name);
        }
        // A shard of another step is refused, and the step stays pending.
        let s = block_on(reps[0].shard_async(0, 2)).unwrap().clone();
        assert!(reps[0].apply_shards(&[Shard { step: 99, index: 1, ..s.clone() }]).is_err());
        assert!(
            reps[0].apply_shards(&[Shard { index: 1, ..s }]).is_err(),
            "the refused apply used the pending step up"
        );
    }
}
