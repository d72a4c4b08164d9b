//! The stepwise training loop: one `step()` is one optimizer step and returns its loss and
//! accuracy, so a page can interleave rendering and a CLI can draw a progress bar.

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;
use serde_json::Value;

use super::eval::{evaluate, evaluate_async};
use super::loss::{scored_positions, scores, spread, target_tensors};
use super::optim::{Adam, StepGrads, read_f32};
use super::recipe::{InitKind, Recipe};
use super::shards::{Shard, combine, grads_by_name, shard_rows};
use crate::error::{Error, Result};
use crate::model::params::InitSource;
use crate::model::{HookedTransformer, HookedTransformerConfig};
use crate::tasks::{Batch, IGNORE, Task, TrainData};

#[derive(Clone, Debug, Serialize)]
pub struct StepLog {
    pub step: usize,
    pub epoch: usize,
    pub loss: f32,
    pub accuracy: f32,
    pub lr: f64,
    /// The task's figures of this step's batch (`Task::step_figures`), for the tasks that have them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures: Option<Value>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EvalLog {
    pub step: usize,
    pub loss: f32,
    pub accuracy: f32,
    pub figures: Value,
}

enum Data {
    Fixed { set: Batch, order: Vec<usize>, cursor: usize, epoch: usize, rng: StdRng },
    Fresh { rng: StdRng },
}

pub struct Trainer {
    pub task: Box<dyn Task>,
    pub recipe: Recipe,
    pub cfg: HookedTransformerConfig,
    device: Device,
    model: HookedTransformer,
    pub(crate) optim: Adam,
    /// Optimizer steps taken.
    pub step: usize,
    data: Data,
    held_out: Batch,
    /// The first step's loss: the yardstick of divergence.
    first_loss: Option<f32>,
    /// The weights before the last update, restored when that update diverged.
    previous: Option<HookedTransformer>,
    /// A data-parallel step whose shard was computed here and awaits `apply_shards`.
    pending: Option<Pending>,
}

/// A step's forward pass: its loss and accuracy (scalars) and, when the task logs figures of
/// its training batches, each scored position's loss [batch, cols].
struct Forward {
    loss: Tensor<1>,
    accuracy: Tensor<1>,
    nll: Option<Tensor<2>>,
    /// The positions `nll` covers (None: all).
    cols: Option<Vec<usize>>,
    lr: f64,
    epoch: usize,
}

/// What `shard_async` drew for its step: the batch is gone from the data stream.
struct Pending {
    /// This replica's own shard: kept here, so only the others' travel back to it.
    own: Shard,
    /// The whole step's batch, for the task's step figures.
    batch: Batch,
    of: usize,
    lr: f64,
    epoch: usize,
}

/// A loss this many times the run's first loss (and at least this many nats) means the run
/// has diverged: a loss of 1e9 (lr 10 on cumsum) is as lost as NaN, and every later step
/// only makes the weights worse. A sane cross-entropy stays far below 100 nats.
pub const DIVERGED_FACTOR: f32 = 100.0;

/// A fresh model as the recipe says: seeded init, then frozen parameters zeroed. The draw is
/// always made on the CPU (Flex), so a seed gives the same initial weights on every backend.
pub fn init_model(
    task: &dyn Task,
    cfg: &HookedTransformerConfig,
    recipe: &Recipe,
    device: &Device,
) -> Result<HookedTransformer> {
    let host = Device::flex();
    if *device == host {
        return init_on(task, cfg, recipe, device);
    }
    let model = init_on(task, cfg, recipe, &host)?;
    let sd = crate::model::params::StateDict::from_named(model.state_dict()?);
    let moved = HookedTransformer::from_state_dict(cfg, &sd, device)?;
    match &recipe.freeze {
        Some(pattern) => Ok(moved.freeze(pattern)?.0),
        None => Ok(moved),
    }
}

fn init_on(
    task: &dyn Task,
    cfg: &HookedTransformerConfig,
    recipe: &Recipe,
    device: &Device,
) -> Result<HookedTransformer> {
    device.seed(recipe.seed);
    let mut src = InitSource::new(device);
    if recipe.init == InitKind::Notebook {
        src.std_override = Some(task.notebook_init(cfg).ok_or_else(|| {
            Error::Config(format!(
                "the {} notebook has no initialisation of its own (init: transformer_lens)",
                task.id()
            ))
        })?);
    }
    let mut cfg = cfg.clone();
    cfg.seed = None; // seeded above, from the recipe
    let model = HookedTransformer::init_with(&cfg, &mut src)?;
    match &recipe.freeze {
        Some(pattern) => Ok(model.zero_and_freeze(pattern)?.0),
        None => Ok(model),
    }
}

impl Trainer {
    /// A new run on `device` (autodiff is enabled here).
    pub fn new(task: Box<dyn Task>, cfg: HookedTransformerConfig, recipe: Recipe, device: &Device) -> Result<Self> {
        let device = device.clone().autodiff();
        let model = init_model(task.as_ref(), &cfg, &recipe, &device)?;
        Self::with_model(task, cfg, recipe, &device, model)
    }

    /// Continues training a given model (e.g. loaded weights) with a fresh optimizer.
    pub fn with_model(
        task: Box<dyn Task>,
        cfg: HookedTransformerConfig,
        recipe: Recipe,
        device: &Device,
        model: HookedTransformer,
    ) -> Result<Self> {
        if recipe.batch_size == 0 {
            return Err(Error::Config("batch_size must be positive".into()));
        }
        let device = device.clone().autodiff();
        let optim = Adam::new(&recipe.optim);
        let data = match task.train_data(recipe.seed) {
            TrainData::Fixed(set) => {
                let mut rng = StdRng::seed_from_u64(recipe.seed ^ 0x5eed);
                let mut order: Vec<usize> = (0..set.len()).collect();
                order.shuffle(&mut rng);
                Data::Fixed { set, order, cursor: 0, epoch: 0, rng }
            }
            TrainData::Fresh => Data::Fresh { rng: StdRng::seed_from_u64(recipe.seed ^ 0x5eed) },
        };
        let held_out = task.held_out();
        Ok(Self {
            task,
            recipe,
            cfg,
            device,
            model,
            optim,
            step: 0,
            data,
            held_out,
            first_loss: None,
            previous: None,
            pending: None,
        })
    }

    pub fn model(&self) -> &HookedTransformer {
        &self.model
    }

    /// The model without autodiff, for evaluation and analysis.
    pub fn inference_model(&self) -> HookedTransformer {
        self.model.valid()
    }

    pub fn epoch(&self) -> usize {
        match &self.data {
            Data::Fixed { epoch, .. } => *epoch,
            Data::Fresh { .. } => 0,
        }
    }

    /// Draws (and drops) the next `n` batches: a resumed run then sees the batches the
    /// uninterrupted run would have.
    pub(crate) fn skip_batches(&mut self, n: usize) {
        for _ in 0..n {
            self.next_batch();
        }
    }

    fn next_batch(&mut self) -> Batch {
        let bs = self.recipe.batch_size;
        match &mut self.data {
            Data::Fixed { set, order, cursor, epoch, rng } => {
                if *cursor >= order.len() {
                    order.shuffle(rng);
                    *cursor = 0;
                    *epoch += 1;
                }
                // The last batch of an epoch may be short, as a DataLoader without drop_last.
                let end = (*cursor + bs).min(order.len());
                let b = set.select(&order[*cursor..end]);
                *cursor = end;
                b
            }
            Data::Fresh { rng } => self.task.sample(rng, bs),
        }
    }

    /// One optimizer step. A non-finite loss stops before the update, so the model stays the
    /// last good one.
    pub fn step(&mut self) -> Result<StepLog> {
        Ok(self.step_with_batch()?.0)
    }

    /// `step`, also returning the batch it trained on (the benchmark replays it elsewhere).
    pub fn step_with_batch(&mut self) -> Result<(StepLog, Batch)> {
        self.no_pending()?;
        let batch = self.next_batch();
        Ok((self.step_on(&batch)?, batch))
    }

    /// One optimizer step on `batch` instead of the run's next one (the training-parity tests
    /// replay a reference run's batches). The run's own data stream does not move.
    pub fn step_on(&mut self, batch: &Batch) -> Result<StepLog> {
        self.no_pending()?;
        let f = self.forward_step(batch)?;
        let loss_v: f32 = f.loss.clone().into_scalar();
        let acc_v: f32 = f.accuracy.clone().into_scalar();
        let nll = f.nll.clone().map(|n| n.into_data().convert::<f32>().try_into_vec::<f32>()).transpose();
        let nll = nll.map_err(|e| Error::Backend(format!("reading back the losses: {e:?}")))?;
        let figures = self.step_figures(batch, nll.as_deref(), f.cols.as_deref())?;
        self.finish_step(f, loss_v, acc_v, figures)
    }

    /// The loss on `batch` and its gradient for every trainable parameter, by TL name, with
    /// no step taken: what the training-parity tests compare with PyTorch's.
    pub async fn gradients_async(&self, batch: &Batch) -> Result<(f32, Vec<(String, Vec<f32>)>)> {
        let s = self.scored_forward(batch).0;
        let loss = read_f32(s.loss.clone().detach()).await?[0];
        let mut out = vec![];
        for (name, g) in grads_by_name(&self.model, GradientsParams::from_grads(s.loss.backward(), &self.model)) {
            out.push((name, read_f32(g).await?));
        }
        Ok((loss, out))
    }

    /// The same, reading the scalars back without blocking (WebGPU in the browser).
    pub async fn step_async(&mut self) -> Result<StepLog> {
        self.no_pending()?;
        let batch = self.next_batch();
        self.step_on_async(&batch).await
    }

    /// `step_on` without blocking reads.
    pub async fn step_on_async(&mut self, batch: &Batch) -> Result<StepLog> {
        self.no_pending()?;
        let f = self.forward_step(batch)?;
        // One read-back for the scalars and the losses: on a GPU each read is a round trip.
        let v = read_f32(Self::read_together(&f)).await?;
        let figures = self.step_figures(batch, Some(&v[2..]).filter(|_| f.nll.is_some()), f.cols.as_deref())?;
        self.finish_step(f, v[0], v[1], figures)
    }

    /// Loss, accuracy and (when kept) every position's loss, in one tensor.
    fn read_together(f: &Forward) -> Tensor<1> {
        let mut parts = vec![f.loss.clone().detach(), f.accuracy.clone()];
        if let Some(n) = &f.nll {
            parts.push(n.clone().detach().flatten(0, 1));
        }
        Tensor::cat(parts, 0)
    }

    /// The task's figures of a training batch from its scored positions' losses.
    fn step_figures(&self, batch: &Batch, nll: Option<&[f32]>, cols: Option<&[usize]>) -> Result<Option<Value>> {
        match (self.task.step_figures(), nll) {
            (Some(figures), Some(nll)) => Ok(Some(figures(batch, &spread(nll, batch.len(), batch.tokens.pos, cols))?)),
            _ => Ok(None),
        }
    }

    fn no_pending(&self) -> Result<()> {
        match self.pending {
            Some(_) => {
                Err(Error::Training(format!("step {} is a data-parallel step: apply its shards first", self.step)))
            }
            None => Ok(()),
        }
    }

    /// This step's learning rate and epoch (and beta1, set on the optimizer).
    fn schedule(&mut self) -> (f64, usize) {
        let epoch = self.epoch();
        let lr = self.recipe.schedule.lr(self.recipe.optim.lr(), self.step, epoch);
        if let Some(b1) = self.recipe.schedule.beta1(self.step) {
            self.optim.set_beta1(b1);
        }
        (lr, epoch)
    }

    fn forward_step(&mut self, batch: &Batch) -> Result<Forward> {
        let (lr, epoch) = self.schedule();
        let (s, scored) = self.scored_forward(batch);
        let nll = self.task.step_figures().map(|_| s.nll.detach());
        Ok(Forward { loss: s.loss, accuracy: s.accuracy, nll, cols: scored, lr, epoch })
    }

    /// The loss of `batch`, computed at its scored positions only (and which those are).
    fn scored_forward(&self, batch: &Batch) -> (super::loss::Scores, Option<Vec<usize>>) {
        let tokens = batch.tokens.tensor(&self.device);
        // Only the scored positions reach the unembedding and the loss (same loss and
        // gradients: the others were masked out).
        let scored = scored_positions(batch);
        let (targets, mask) = target_tensors(batch, scored.as_deref(), &self.device);
        let logits = match &scored {
            Some(at) => self.model.forward_at(tokens, at),
            None => self.model.forward(tokens),
        };
        (scores(logits, targets, mask), scored)
    }

    fn finish_step(&mut self, f: Forward, loss_v: f32, acc_v: f32, figures: Option<Value>) -> Result<StepLog> {
        self.check_loss(loss_v)?;
        let grads = StepGrads::Ids(GradientsParams::from_grads(f.loss.backward(), &self.model));
        Ok(self.update(grads, loss_v, acc_v, f.lr, f.epoch, figures))
    }

    /// This replica's part of a data-parallel step (`train::shards`): draws the step's batch
    /// (as `step` would), computes the gradients of its rows `shard_rows(.., index, of)` and
    /// keeps the step pending until `apply_shards`; the shard is for the other replicas.
    pub async fn shard_async(&mut self, index: usize, of: usize) -> Result<&Shard> {
        self.no_pending()?;
        if index >= of {
            return Err(Error::Config(format!("shard {index} of {of} does not exist")));
        }
        let batch = self.next_batch();
        let rows: Vec<usize> = shard_rows(batch.len(), index, of).collect();
        let part = batch.select(&rows);
        let count = part.targets.iter().filter(|&&t| t != IGNORE).count();
        let mut shard = Shard {
            step: self.step,
            index,
            of,
            loss: 0.0,
            accuracy: 0.0,
            count,
            grads: Default::default(),
            nll: Default::default(),
        };
        let (lr, epoch) = if count == 0 {
            let (lr, epoch) = self.schedule();
            if self.task.step_figures().is_some() {
                shard.nll = vec![0.0; part.targets.len()];
            }
            (lr, epoch)
        } else {
            let f = self.forward_step(&part)?;
            let v = read_f32(Self::read_together(&f)).await?;
            (shard.loss, shard.accuracy) = (v[0], v[1]);
            if f.nll.is_some() {
                shard.nll = spread(&v[2..], part.len(), part.tokens.pos, f.cols.as_deref());
            }
            let grads = GradientsParams::from_grads(f.loss.backward(), &self.model);
            for (name, g) in grads_by_name(&self.model, grads) {
                shard.grads.insert(name, read_f32(g).await?);
            }
            (f.lr, f.epoch)
        };
        Ok(&self.pending.insert(Pending { own: shard, batch, of, lr, epoch }).own)
    }

    /// Completes a data-parallel step with the other replicas' shards (this one's own is kept
    /// from `shard_async`): the same update on every replica. A diverged step is refused as
    /// `step`'s is.
    pub fn apply_shards(&mut self, others: &[Shard]) -> Result<StepLog> {
        let p = self.pending.take().ok_or_else(|| Error::Training("no data-parallel step to apply".into()))?;
        let all: Vec<&Shard> = std::iter::once(&p.own).chain(others).collect();
        let c = combine(&all, self.step, p.of)?;
        self.check_loss(c.loss)?;
        // Every shard's per-position losses, in shard order, are the whole batch's.
        let mut ordered = all.clone();
        ordered.sort_by_key(|s| s.index);
        let nll: Vec<f32> = ordered.iter().flat_map(|s| s.nll.iter().copied()).collect();
        let whole = (nll.len() == p.batch.targets.len()).then_some(&nll[..]);
        let figures = self.step_figures(&p.batch, whole, None)?;
        let grads = StepGrads::Named { grads: c.grads, device: self.device.clone() };
        Ok(self.update(grads, c.loss, c.accuracy, p.lr, p.epoch, figures))
    }

    /// Stops a diverging run before its update: back to the weights before the last one.
    fn check_loss(&mut self, loss_v: f32) -> Result<()> {
        let first = *self.first_loss.get_or_insert(loss_v);
        if !loss_v.is_finite() || loss_v > DIVERGED_FACTOR * first.max(1.0) {
            let at = self.step;
            // The weights that gave this loss are lost too: back to the ones before them (their
            // loss was fine), and stop. The optimizer's moments stay as they are.
            let back = match self.previous.take() {
                Some(prev) => {
                    self.model = prev;
                    self.step -= 1;
                    format!("the weights are back at step {}", self.step)
                }
                None => "no update was applied".into(),
            };
            return Err(Error::Diverged(format!(
                "the run diverged: the loss reached {loss_v} at step {at} (the first was {first}); stopped, {back} (lower the learning rate?)"
            )));
        }
        Ok(())
    }

    fn update(
        &mut self,
        grads: StepGrads,
        loss_v: f32,
        acc_v: f32,
        lr: f64,
        epoch: usize,
        figures: Option<Value>,
    ) -> StepLog {
        self.previous = Some(self.model.clone());
        self.model = self.optim.step(lr, self.model.clone(), grads);
        let log = StepLog { step: self.step, epoch, loss: loss_v, accuracy: acc_v, lr, figures };
        self.step += 1;
        log
    }

    /// Loss, accuracy and the task's figures on its fixed held-out set.
    pub fn evaluate(&self) -> Result<EvalLog> {
        let (loss, accuracy, figures) = evaluate(&*self.task, &self.inference_model(), &self.held_out)?;
        Ok(EvalLog { step: self.step, loss, accuracy, figures })
    }

    /// `evaluate` without blocking reads; `limit` caps the held-out examples (the browser
    /// evaluates often, on a slice).
    pub async fn evaluate_async(&self, limit: Option<usize>) -> Result<EvalLog> {
        let n = limit.unwrap_or(usize::MAX).min(self.held_out.len());
        let part = if n < self.held_out.len() {
            self.held_out.select(&(0..n).collect::<Vec<_>>())
        } else {
            self.held_out.clone()
        };
        let (loss, accuracy, figures) = evaluate_async(&*self.task, &self.inference_model(), &part).await?;
        Ok(EvalLog { step: self.step, loss, accuracy, figures })
    }
}
