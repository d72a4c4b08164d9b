//! A training run's resumable state as one safetensors file: the TL-named weights, Adam's
//! moments (`optimizer.<param>.exp_avg` / `.exp_avg_sq`, torch's names) and, in the header's
//! metadata, the task, step, config and recipe. Restoring replays the data stream to the same
//! step, so a resumed run continues exactly where it stopped, on any backend.

use std::collections::{BTreeMap, HashMap};

use burn::tensor::Device;

use super::optim::HostMoments;
use super::recipe::Recipe;
use super::trainer::Trainer;
use crate::error::{Error, Result};
use crate::io::safetensors::{OutTensor, read_metadata, read_tensors, write_tensors_with_metadata};
use crate::model::params::StateDict;
use crate::model::{HookedTransformer, HookedTransformerConfig};
use crate::tasks;

pub const FORMAT: &str = "toylens-train-state-1";
const PREFIX: &str = "optimizer.";

/// What the header says about a saved run.
#[derive(Clone, Debug)]
pub struct StateInfo {
    pub task: String,
    pub step: usize,
    pub cfg: HookedTransformerConfig,
    pub recipe: Recipe,
}

impl Trainer {
    /// The run's state, read back without blocking (works on WebGPU).
    pub async fn save_state(&self) -> Result<Vec<u8>> {
        let weights = self.model().state_dict_async().await?;
        let moments = self.optim.export().await?;
        let mut times = BTreeMap::new();
        let mut names = vec![];
        for (name, m) in &moments {
            times.insert(name.clone(), m.time);
            names.push((format!("{PREFIX}{name}.exp_avg"), &m.exp_avg));
            names.push((format!("{PREFIX}{name}.exp_avg_sq"), &m.exp_avg_sq));
        }
        let shapes: Vec<[usize; 1]> = names.iter().map(|(_, v)| [v.len()]).collect();
        let mut outs: Vec<(String, OutTensor)> =
            weights.iter().map(|t| (t.name.clone(), OutTensor::F32 { shape: &t.shape, values: &t.values })).collect();
        for ((n, v), s) in names.iter().zip(&shapes) {
            outs.push((n.clone(), OutTensor::F32 { shape: s, values: v }));
        }
        let recipe = serde_json::to_string(&self.recipe).map_err(|e| Error::Io(e.to_string()))?;
        let meta = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("task".to_string(), self.task.id().to_string()),
            ("step".to_string(), self.step.to_string()),
            ("config".to_string(), self.cfg.to_json().to_string()),
            ("recipe".to_string(), recipe),
            ("optimizer_steps".to_string(), serde_json::to_string(&times).map_err(|e| Error::Io(e.to_string()))?),
        ]);
        write_tensors_with_metadata(&outs, Some(meta))
    }

    /// A run resumed from `save_state` bytes, on `device`.
    pub fn restore(bytes: &[u8], device: &Device) -> Result<Self> {
        let info = state_info(bytes)?;
        let meta = read_metadata(bytes)?.unwrap_or_default();
        let times: BTreeMap<String, usize> = serde_json::from_str(meta.get("optimizer_steps").map(String::as_str).unwrap_or("{}"))
            .map_err(|e| Error::Weights(format!("training state: optimizer_steps: {e}")))?;
        let mut sd = StateDict::default();
        let mut exp_avg = BTreeMap::new();
        let mut exp_avg_sq = BTreeMap::new();
        for (name, t) in read_tensors(bytes)? {
            match name.strip_prefix(PREFIX) {
                Some(rest) if rest.ends_with(".exp_avg_sq") => {
                    exp_avg_sq.insert(rest.trim_end_matches(".exp_avg_sq").to_string(), t.to_f32());
                }
                Some(rest) if rest.ends_with(".exp_avg") => {
                    exp_avg.insert(rest.trim_end_matches(".exp_avg").to_string(), t.to_f32());
                }
                Some(_) => return Err(Error::Weights(format!("training state: unexpected tensor {name}"))),
                None => {
                    sd.dtypes.insert(name.clone(), t.dtype.to_lowercase());
                    sd.tensors.insert(name, (t.shape.clone(), t.to_f32()));
                }
            }
        }
        let mut moments = BTreeMap::new();
        for (name, m1) in exp_avg {
            let m2 = exp_avg_sq.remove(&name).ok_or_else(|| Error::Weights(format!("training state: {name} has exp_avg but no exp_avg_sq")))?;
            let time = *times.get(&name).unwrap_or(&info.step);
            moments.insert(name, HostMoments { time, exp_avg: m1, exp_avg_sq: m2 });
        }
        let ad = device.clone().autodiff();
        let mut model = HookedTransformer::from_state_dict(&info.cfg, &sd, &ad)?;
        if let Some(p) = &info.recipe.freeze {
            model = model.freeze(p)?.0;
        }
        let task = tasks::by_id(&info.task)?;
        let mut t = Trainer::with_model(task, info.cfg, info.recipe, &ad, model)?;
        t.optim.import(&moments, &ad)?;
        t.skip_batches(info.step);
        t.step = info.step;
        Ok(t)
    }
}

/// The header of a `save_state` file, or a clear error when it is not one.
pub fn state_info(bytes: &[u8]) -> Result<StateInfo> {
    let meta = read_metadata(bytes)?.unwrap_or_default();
    let get = |k: &str| meta.get(k).ok_or_else(|| Error::Weights(format!("not a toylens training state (no {k:?} in its metadata)")));
    if get("format")? != FORMAT {
        return Err(Error::Weights(format!("training state format {:?}, expected {FORMAT:?}", get("format")?)));
    }
    let step = get("step")?.parse().map_err(|e| Error::Weights(format!("training state: step: {e}")))?;
    let cfg = HookedTransformerConfig::from_json_str(get("config")?)?;
    let recipe = serde_json::from_str(get("recipe")?).map_err(|e| Error::Weights(format!("training state: recipe: {e}")))?;
    Ok(StateInfo { task: get("task")?.clone(), step, cfg, recipe })
}

/// Just the model weights of a training state (TL names; what TL's `load_state_dict` takes).
pub fn weights_only(bytes: &[u8]) -> Result<StateDict> {
    let mut sd = StateDict::default();
    for (name, t) in read_tensors(bytes)? {
        if !name.starts_with(PREFIX) {
            sd.dtypes.insert(name.clone(), t.dtype.to_lowercase());
            sd.tensors.insert(name, (t.shape.clone(), t.to_f32()));
        }
    }
    Ok(sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A run stopped, saved and restored continues with exactly the losses of an
    // uninterrupted run (same batches, same moments).
    #[test]
    fn resume_matches_uninterrupted_run() {
        let device = Device::flex();
        let task = tasks::by_id("sorting").unwrap();
        let mut recipe = task.recipe();
        recipe.batch_size = 8;
        let cfg = task.config();
        let mut a = Trainer::new(tasks::by_id("sorting").unwrap(), cfg.clone(), recipe.clone(), &device).unwrap();
        for _ in 0..5 {
            a.step().unwrap();
        }
        let bytes = block_on(a.save_state()).unwrap();
        let mut b = Trainer::restore(&bytes, &device).unwrap();
        assert_eq!(b.step, 5);
        for _ in 0..3 {
            let x = a.step().unwrap();
            let y = b.step().unwrap();
            assert_eq!(x.step, y.step);
            assert!((x.loss - y.loss).abs() < 1e-6, "{} vs {}", x.loss, y.loss);
        }
        assert!(state_info(b"not a file").is_err());
    }

    /// Drives a future that never waits (Flex reads are immediate).
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
}
