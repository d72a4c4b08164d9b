//! Adam (coupled L2 decay, as `torch.optim.Adam`) and AdamW (decoupled), one per-parameter
//! update with beta1 settable each step (torch's OneCycleLR cycles it between 0.95 and 0.85).
//!
//! Hand-written rather than burn's `ModuleOptimizer` + `AdamW`: burn fixes beta1 at
//! construction, keys its state by `ParamId` (new ids for every loaded model) and exports it
//! only through synchronous reads, which WebGPU in the browser cannot do. Here the state is
//! keyed by the TL parameter name and read back asynchronously, so a run's checkpoint
//! (weights + moments) resumes exactly, on any backend. The update is burn's AdamW term for
//! term, and the tests below match torch.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use super::recipe::Optim;
use crate::error::{Error, Result};

/// One parameter's Adam state, flattened (the rank is the parameter's own).
#[derive(Clone)]
pub struct Moments {
    /// Steps taken (torch's `state["step"]`).
    pub time: usize,
    pub exp_avg: Tensor<1>,
    pub exp_avg_sq: Tensor<1>,
}

/// A parameter's state on the host: what checkpoints store.
#[derive(Clone, Debug, PartialEq)]
pub struct HostMoments {
    pub time: usize,
    pub exp_avg: Vec<f32>,
    pub exp_avg_sq: Vec<f32>,
}

#[derive(Clone)]
pub struct Adam {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// AdamW's decoupled decay; otherwise Adam's L2 term added to the gradient.
    pub decoupled: bool,
    /// Keyed by TL parameter name (the module path).
    pub states: BTreeMap<String, Moments>,
}

impl Adam {
    pub fn new(optim: &Optim) -> Self {
        let (beta1, beta2, eps, weight_decay, decoupled) = match *optim {
            Optim::Adam { beta1, beta2, eps, weight_decay, .. } => (beta1, beta2, eps, weight_decay, false),
            Optim::AdamW { beta1, beta2, eps, weight_decay, .. } => (beta1, beta2, eps, weight_decay, true),
        };
        Self { beta1, beta2, eps, weight_decay, decoupled, states: BTreeMap::new() }
    }

    pub fn set_beta1(&mut self, b: f64) {
        self.beta1 = b;
    }

    /// One update of every parameter that has a gradient (frozen ones have none).
    pub fn step<M: Module>(&mut self, lr: f64, module: M, mut grads: StepGrads) -> M {
        let mut mapper = StepMapper { path: vec![], adam: self, grads: &mut grads, lr };
        module.map(&mut mapper)
    }

    /// The update of one tensor; `state` is `None` on its first step.
    pub fn update<const D: usize>(
        &self,
        lr: f64,
        p: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Moments>,
    ) -> (Tensor<D>, Moments) {
        let (b1, b2) = (self.beta1, self.beta2);
        let dims = p.dims();
        let n: usize = dims.iter().product();
        let grad = if self.decoupled || self.weight_decay == 0.0 {
            grad
        } else {
            grad + p.clone().mul_scalar(self.weight_decay)
        };
        let g = grad.reshape([n]);
        let m = match state {
            Some(s) => Moments {
                time: s.time + 1,
                exp_avg: s.exp_avg.mul_scalar(b1).add(g.clone().mul_scalar(1.0 - b1)),
                exp_avg_sq: s.exp_avg_sq.mul_scalar(b2).add(g.square().mul_scalar(1.0 - b2)),
            },
            None => Moments {
                time: 1,
                exp_avg: g.clone().mul_scalar(1.0 - b1),
                exp_avg_sq: g.square().mul_scalar(1.0 - b2),
            },
        };
        let t = m.time as i32;
        // torch: bias corrections use the current beta1 (the scheduler rewrites it in place).
        let m_hat = m.exp_avg.clone().div_scalar(1.0 - b1.powi(t));
        let v_hat = m.exp_avg_sq.clone().div_scalar(1.0 - b2.powi(t));
        let update = m_hat.div(v_hat.sqrt().add_scalar(self.eps)).reshape(dims);
        let decayed = if self.decoupled { p.mul_scalar(1.0 - lr * self.weight_decay) } else { p };
        (decayed - update.mul_scalar(lr), m)
    }

    /// The state on the host, read without blocking (WebGPU in the browser needs that).
    pub async fn export(&self) -> Result<BTreeMap<String, HostMoments>> {
        let mut out = BTreeMap::new();
        for (name, m) in &self.states {
            out.insert(
                name.clone(),
                HostMoments {
                    time: m.time,
                    exp_avg: read_f32(m.exp_avg.clone()).await?,
                    exp_avg_sq: read_f32(m.exp_avg_sq.clone()).await?,
                },
            );
        }
        Ok(out)
    }

    /// Replaces the state with `saved`, on `device`.
    pub fn import(&mut self, saved: &BTreeMap<String, HostMoments>, device: &Device) -> Result<()> {
        self.states.clear();
        for (name, h) in saved {
            if h.exp_avg.len() != h.exp_avg_sq.len() {
                return Err(Error::Weights(format!("optimizer state of {name}: moments of different sizes")));
            }
            let t = |v: &Vec<f32>| Tensor::<1>::from_data(TensorData::new(v.clone(), [v.len()]), device);
            self.states
                .insert(name.clone(), Moments { time: h.time, exp_avg: t(&h.exp_avg), exp_avg_sq: t(&h.exp_avg_sq) });
        }
        Ok(())
    }
}

/// A step's gradients: burn's, keyed by parameter id (one backward pass), or host values keyed
/// by TL name (the mean of several replicas' shards: `train::shards`).
pub enum StepGrads {
    Ids(GradientsParams),
    Named { grads: BTreeMap<String, Vec<f32>>, device: Device },
}

impl StepGrads {
    fn take<const D: usize>(&mut self, id: burn::module::ParamId, name: &str, dims: [usize; D]) -> Option<Tensor<D>> {
        match self {
            StepGrads::Ids(g) => g.remove::<D>(id),
            StepGrads::Named { grads, device } => {
                let v = grads.remove(name)?;
                Some(
                    Tensor::<1>::from_data(TensorData::new(v, [dims.iter().product::<usize>()]), &*device)
                        .reshape(dims),
                )
            }
        }
    }
}

/// A tensor's values on the host, read without blocking (WebGPU in the browser needs that).
pub(crate) async fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let d = t.into_data_async().await.map_err(|e| Error::Backend(format!("reading back a tensor: {e:?}")))?;
    d.convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))
}

struct StepMapper<'a> {
    path: Vec<String>,
    adam: &'a mut Adam,
    grads: &'a mut StepGrads,
    lr: f64,
}

impl ModuleMapper for StepMapper<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let name = self.path.join(".");
        let Some(grad) = self.grads.take::<D>(id, &name, tensor.dims()) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let state = self.adam.states.remove(&name);
        let (updated, m) = self.adam.update(self.lr, tensor.inner(), grad, state);
        self.adam.states.insert(name, m);
        let mut t = Tensor::from_inner(updated);
        if require_grad {
            t = t.require_grad();
        }
        Param::from_mapped_value(id, t, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRADS: [[f32; 3]; 3] = [[0.1, -0.2, 0.3], [0.5, 0.4, -0.1], [-0.3, 0.2, 0.2]];

    fn run(o: &mut Adam, betas: Option<[f64; 3]>) -> Vec<f32> {
        let device = Device::flex();
        let mut p = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5], [3]), &device);
        let mut state = None;
        for (i, g) in GRADS.iter().enumerate() {
            if let Some(b) = betas {
                o.set_beta1(b[i]);
            }
            let g = Tensor::<1>::from_data(TensorData::new(g.to_vec(), [3]), &device);
            let (np, ns) = o.update(0.1, p, g, state);
            p = np;
            state = Some(ns);
        }
        p.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    fn close(a: &[f32], b: &[f64]) {
        for (x, y) in a.iter().zip(b) {
            assert!((*x as f64 - y).abs() < 2e-6, "{a:?} vs torch {b:?}");
        }
    }

    // References: torch 2.15, float64, p = [1, -2, 0.5], lr 0.1, the three gradients above.
    #[test]
    fn adam_with_coupled_decay_matches_torch() {
        let mut o = Adam::new(&Optim::Adam { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 });
        close(&run(&mut o, None), &[0.7857828211418143, -1.9773715864383254, 0.29701559500362]);
    }

    #[test]
    fn adamw_matches_torch() {
        let mut o = Adam::new(&Optim::AdamW { lr: 0.1, beta1: 0.9, beta2: 0.98, eps: 1e-8, weight_decay: 0.1 });
        close(&run(&mut o, None), &[0.7625212733953649, -1.9306541825744459, 0.28684981620989874]);
    }

    #[test]
    fn adamw_matches_torch_with_changing_betas() {
        let mut o = Adam::new(&Optim::AdamW { lr: 0.1, beta1: 0.99, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 });
        close(&run(&mut o, Some([0.95, 0.9, 0.85])), &[0.8167399387956691, -1.997371650643796, 0.35090474337869487]);
    }
}
