//! A training run in the page: create (fresh, or resumed from a saved state), step, evaluate,
//! save. Every read-back is asynchronous, so the same run trains on WebGPU and on the CPU.

use wasm_bindgen::prelude::*;

use super::{device_for, js_err, to_js, weights_bytes};
use crate::error::Error;
use crate::model::HookedTransformerConfig;
use crate::tasks;
use crate::train::Trainer;
use crate::train::recipe::Recipe;
use crate::train::shards::Shard;

#[wasm_bindgen]
pub struct TrainingRun {
    backend: String,
    trainer: Trainer,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, JsValue> {
    serde_json::from_str(s).map_err(|e| js_err(Error::Config(format!("{what}: {e}"))))
}

#[wasm_bindgen]
impl TrainingRun {
    /// A fresh run of `task` on `backend`. `recipe` (JSON) replaces the task's recipe and
    /// `config` (TL JSON) its model config when given (the page's edited settings).
    pub async fn create(
        backend: String,
        task: String,
        recipe: Option<String>,
        config: Option<String>,
    ) -> Result<TrainingRun, JsValue> {
        let device = device_for(&backend).await?;
        let t = tasks::by_id(&task).map_err(js_err)?;
        let recipe: Recipe = match recipe {
            Some(r) => parse("recipe", &r)?,
            None => t.recipe(),
        };
        let cfg = match config {
            Some(c) => HookedTransformerConfig::from_json_str(&c).map_err(js_err)?,
            None => t.config(),
        };
        let trainer = Trainer::new(t, cfg, recipe, &device).map_err(js_err)?;
        Ok(TrainingRun { backend, trainer })
    }

    /// A run resumed from `state()` bytes, on `backend` (which may differ from the one that
    /// saved it: that is how a lost GPU falls back to the CPU).
    pub async fn restore(backend: String, bytes: Vec<u8>) -> Result<TrainingRun, JsValue> {
        let device = device_for(&backend).await?;
        let trainer = Trainer::restore(&bytes, &device).map_err(js_err)?;
        Ok(TrainingRun { backend, trainer })
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Optimizer steps taken.
    #[wasm_bindgen(getter)]
    pub fn step(&self) -> usize {
        self.trainer.step
    }

    #[wasm_bindgen(getter)]
    pub fn task(&self) -> String {
        self.trainer.task.id().to_string()
    }

    /// The recipe and config in use, `{recipe, config}`.
    pub fn settings(&self) -> Result<JsValue, JsValue> {
        let recipe = serde_json::to_value(&self.trainer.recipe).map_err(|e| js_err(Error::Io(e.to_string())))?;
        to_js(&serde_json::json!({ "recipe": recipe, "config": self.trainer.cfg.to_json() }))
    }

    /// Up to `n` optimizer steps (fewer when the recipe's total is reached): their logs.
    /// A non-finite loss stops with an error and keeps the last good weights.
    pub async fn steps(&mut self, n: usize) -> Result<JsValue, JsValue> {
        let mut logs = vec![];
        for _ in 0..n {
            if self.trainer.step >= self.trainer.recipe.steps {
                break;
            }
            logs.push(self.trainer.step_async().await.map_err(js_err)?);
        }
        to_js(&logs)
    }

    /// This replica's part of a data-parallel step (`train::shards`): the gradients of shard
    /// `index` of `of` of the step's batch, as bytes for the other replicas.
    pub async fn shard(&mut self, index: usize, of: usize) -> Result<JsValue, JsValue> {
        let shard = self.trainer.shard_async(index, of).await.map_err(js_err)?;
        let bytes = shard.to_bytes().map_err(js_err)?;
        Ok(js_sys::Uint8Array::from(&bytes[..]).into())
    }

    /// Completes the pending data-parallel step with the other replicas' shard bytes: its log.
    pub fn apply(&mut self, shards: Vec<js_sys::Uint8Array>) -> Result<JsValue, JsValue> {
        let shards = shards
            .iter()
            .map(|b| Shard::from_bytes(&b.to_vec()))
            .collect::<crate::error::Result<Vec<_>>>()
            .map_err(js_err)?;
        to_js(&self.trainer.apply_shards(&shards).map_err(js_err)?)
    }

    /// Loss, accuracy and the task's figures on the first `limit` held-out examples.
    pub async fn evaluate(&self, limit: Option<usize>) -> Result<JsValue, JsValue> {
        let log = self.trainer.evaluate_async(limit).await.map_err(js_err)?;
        to_js(&log)
    }

    /// The whole run (weights, Adam moments, step, recipe, config) as safetensors bytes.
    pub async fn state(&self) -> Result<JsValue, JsValue> {
        let bytes = self.trainer.save_state().await.map_err(js_err)?;
        Ok(js_sys::Uint8Array::from(&bytes[..]).into())
    }

    /// The current weights as TL-named safetensors.
    pub async fn weights(&self) -> Result<JsValue, JsValue> {
        let sd = self.trainer.inference_model().state_dict_async().await.map_err(js_err)?;
        Ok(weights_bytes(&sd)?.into())
    }
}

/// Replays a training-parity fixture (`train::replay`: PyTorch's steps from the same weights
/// and batches) on `backend`: per step the loss, each parameter's gradient and updated-weight
/// differences, and what is beyond the tolerances (`scale` times looser, for a backend whose
/// float kernels differ more).
#[wasm_bindgen]
pub async fn replay_training(
    backend: String,
    config: String,
    init: Vec<u8>,
    steps: Vec<u8>,
    meta: String,
    scale: f32,
) -> Result<JsValue, JsValue> {
    let device = device_for(&backend).await?;
    let r = crate::train::replay::replay(&config, &init, &steps, &meta, &device, scale).await.map_err(js_err)?;
    to_js(&r)
}
