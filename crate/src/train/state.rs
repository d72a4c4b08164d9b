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
use crate::io::safetensors::{OutTensor, named_tensors, read_metadata, read_state_dict, write_tensors_with_metadata};
use crate::model::params::StateDict;
use crate::model::{HookedTransformer, HookedTransformerConfig};
use crate::tasks;

pub const FORMAT: &str = "toylens-train-state-1";
const PREFIX: &str = "optimizer.";
const AVG: &str = ".exp_avg";
const AVG_SQ: &str = ".exp_avg_sq";

/// What the header says about a saved run.
#[derive(Clone, Debug)]
pub struct StateInfo {
    pub task: String,
    pub step: usize,
    pub cfg: HookedTransformerConfig,
    pub recipe: Recipe,
    /// Adam's step count per parameter.
    pub optimizer_steps: BTreeMap<String, usize>,
}

impl Trainer {
    /// The run's state, read back without blocking (works on WebGPU).
    pub async fn save_state(&self) -> Result<Vec<u8>> {
        let weights = self.model().state_dict_async().await?;
        let moments = self.optim.export().await?;
        let times: BTreeMap<&String, usize> = moments.iter().map(|(n, m)| (n, m.time)).collect();
        let flat: Vec<(String, [usize; 1], &Vec<f32>)> = moments
            .iter()
            .flat_map(|(n, m)| {
                [
                    (format!("{PREFIX}{n}{AVG}"), [m.exp_avg.len()], &m.exp_avg),
                    (format!("{PREFIX}{n}{AVG_SQ}"), [m.exp_avg_sq.len()], &m.exp_avg_sq),
                ]
            })
            .collect();
        let mut outs = named_tensors(&weights, false);
        outs.extend(flat.iter().map(|(n, s, v)| (n.clone(), OutTensor::F32 { shape: s, values: v })));
        let meta = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("task".to_string(), self.task.id().to_string()),
            ("step".to_string(), self.step.to_string()),
            ("config".to_string(), self.cfg.to_json().to_string()),
            ("recipe".to_string(), to_json(&self.recipe)?),
            ("optimizer_steps".to_string(), to_json(&times)?),
        ]);
        write_tensors_with_metadata(&outs, Some(meta))
    }

    /// A run resumed from `save_state` bytes, on `device`.
    pub fn restore(bytes: &[u8], device: &Device) -> Result<Self> {
        let info = state_info(bytes)?;
        let mut sd = read_state_dict(bytes)?;
        let (exp_avg, mut exp_avg_sq, unknown) = take_moments(&mut sd);
        if let Some(name) = unknown.first() {
            return Err(Error::Weights(format!("training state: unexpected tensor {name}")));
        }
        let mut moments = BTreeMap::new();
        for (name, m1) in exp_avg {
            let m2 = exp_avg_sq
                .remove(&name)
                .ok_or_else(|| Error::Weights(format!("training state: {name} has exp_avg but no exp_avg_sq")))?;
            let time = *info.optimizer_steps.get(&name).unwrap_or(&info.step);
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

type ByParam = BTreeMap<String, Vec<f32>>;

/// Removes the optimizer's tensors from `sd`: exp_avg and exp_avg_sq by parameter name, and
/// the names of any other `optimizer.` tensors.
fn take_moments(sd: &mut StateDict) -> (ByParam, ByParam, Vec<String>) {
    let (mut avg, mut avg_sq, mut unknown) = (BTreeMap::new(), BTreeMap::new(), vec![]);
    let names: Vec<String> = sd.tensors.keys().filter(|n| n.starts_with(PREFIX)).cloned().collect();
    for name in names {
        let (_, values) = sd.tensors.remove(&name).expect("listed above");
        sd.dtypes.remove(&name);
        let rest = &name[PREFIX.len()..];
        if let Some(p) = rest.strip_suffix(AVG_SQ) {
            avg_sq.insert(p.to_string(), values);
        } else if let Some(p) = rest.strip_suffix(AVG) {
            avg.insert(p.to_string(), values);
        } else {
            unknown.push(name);
        }
    }
    (avg, avg_sq, unknown)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Io(e.to_string()))
}

/// The header of a `save_state` file, or a clear error when it is not one.
pub fn state_info(bytes: &[u8]) -> Result<StateInfo> {
    let meta = read_metadata(bytes)?.unwrap_or_default();
    let get = |k: &str| {
        meta.get(k).ok_or_else(|| Error::Weights(format!("not a toylens training state (no {k:?} in its metadata)")))
    };
    if get("format")? != FORMAT {
        return Err(Error::Weights(format!("training state format {:?}, expected {FORMAT:?}", get("format")?)));
    }
    fn parse<T: serde::de::DeserializeOwned>(k: &str, v: &str) -> Result<T> {
        serde_json::from_str(v).map_err(|e| Error::Weights(format!("training state: {k}: {e}")))
    }
    Ok(StateInfo {
        task: get("task")?.clone(),
        step: get("step")?.parse().map_err(|e| Error::Weights(format!("training state: step: {e}")))?,
        cfg: HookedTransformerConfig::from_json_str(get("config")?)?,
        recipe: parse("recipe", get("recipe")?)?,
        optimizer_steps: match meta.get("optimizer_steps") {
            Some(v) => parse("optimizer_steps", v)?,
            None => BTreeMap::new(),
        },
    })
}

/// The weights in a file's bytes: a TL state dict (safetensors, or a PyTorch `.pt` read in
/// memory), or the model part of a toylens training state. What the CLI's `--weights` and the
/// page's engine both accept; the messages are the state dict reader's.
pub fn weights_of(bytes: &[u8]) -> Result<StateDict> {
    let is_state = !crate::io::pytorch::looks_like_pt(bytes)
        && read_metadata(bytes).ok().flatten().is_some_and(|m| m.get("format").map(String::as_str) == Some(FORMAT));
    if is_state { weights_only(bytes) } else { crate::io::read_state_dict_bytes(bytes) }
}

/// Just the model weights of a training state (TL names; what TL's `load_state_dict` takes).
pub fn weights_only(bytes: &[u8]) -> Result<StateDict> {
    let mut sd = read_state_dict(bytes)?;
    take_moments(&mut sd);
    Ok(sd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::block_on;

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
}
