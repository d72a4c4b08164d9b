//! Optimizers: burn's Adam (coupled L2 decay, as `torch.optim.Adam`) and AdamW (decoupled),
//! plus an AdamW whose beta1 the schedule can move each step, for OneCycle's momentum cycling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamWConfig, AdamWState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Tensor};

use super::recipe::Optim;

/// AdamW as torch computes it, with beta1 read from a shared cell at every step.
/// Hand-written because burn's AdamW fixes beta1 at construction, and torch's OneCycleLR
/// cycles it between 0.95 and 0.85; the update is otherwise burn's AdamW, term for term.
#[derive(Clone)]
pub struct CyclingAdamW {
    beta1: Arc<AtomicU64>,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    /// AdamW's decoupled decay; otherwise Adam's L2 term added to the gradient.
    decoupled: bool,
}

impl Optimizer for CyclingAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let b1 = f64::from_bits(self.beta1.load(Ordering::Relaxed));
        let b2 = self.beta2;
        let grad = if self.decoupled || self.weight_decay == 0.0 {
            grad
        } else {
            grad + tensor.clone().mul_scalar(self.weight_decay)
        };
        let m = match state {
            Some(s) => {
                let mut m = s.momentum;
                m.moment_1 = m.moment_1.mul_scalar(b1).add(grad.clone().mul_scalar(1.0 - b1));
                m.moment_2 = m.moment_2.mul_scalar(b2).add(grad.square().mul_scalar(1.0 - b2));
                m.time += 1;
                m
            }
            None => AdaptiveMomentumState::new(1, grad.clone().mul_scalar(1.0 - b1), grad.square().mul_scalar(1.0 - b2)),
        };
        let t = m.time as i32;
        // torch: bias corrections use the current beta1 (the scheduler rewrites it in place).
        let m_hat = m.moment_1.clone().div_scalar(1.0 - b1.powi(t));
        let v_hat = m.moment_2.clone().div_scalar(1.0 - b2.powi(t));
        let update = m_hat.div(v_hat.sqrt().add_scalar(self.eps));
        let decayed = if self.decoupled { tensor.mul_scalar(1.0 - lr * self.weight_decay) } else { tensor };
        (decayed - update.mul_scalar(lr), Some(AdamWState::new(m)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

/// A module optimizer and, for cycling schedules, the handle that sets beta1.
pub struct Built {
    pub optimizer: ModuleOptimizer,
    pub beta1: Option<Arc<AtomicU64>>,
}

impl Built {
    pub fn set_beta1(&self, b: f64) {
        if let Some(cell) = &self.beta1 {
            cell.store(b.to_bits(), Ordering::Relaxed);
        }
    }
}

pub fn build(optim: &Optim, cycles_beta1: bool) -> Built {
    match *optim {
        Optim::Adam { beta1, beta2, eps, weight_decay, .. } if !cycles_beta1 => {
            let mut c = AdamConfig::new().with_beta_1(beta1 as f32).with_beta_2(beta2 as f32).with_epsilon(eps as f32);
            if weight_decay > 0.0 {
                c = c.with_weight_decay(Some(WeightDecayConfig::new(weight_decay as f32)));
            }
            Built { optimizer: c.init(), beta1: None }
        }
        Optim::AdamW { beta1, beta2, eps, weight_decay, .. } if !cycles_beta1 => Built {
            optimizer: AdamWConfig::new()
                .with_beta_1(beta1 as f32)
                .with_beta_2(beta2 as f32)
                .with_epsilon(eps as f32)
                .with_weight_decay(weight_decay as f32)
                .init(),
            beta1: None,
        },
        Optim::Adam { beta1, beta2, eps, weight_decay, .. } | Optim::AdamW { beta1, beta2, eps, weight_decay, .. } => {
            let decoupled = matches!(optim, Optim::AdamW { .. });
            let cell = Arc::new(AtomicU64::new(beta1.to_bits()));
            let o = CyclingAdamW { beta1: cell.clone(), beta2, eps, weight_decay, decoupled };
            Built { optimizer: ModuleOptimizer::from(o), beta1: Some(cell) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    const GRADS: [[f32; 3]; 3] = [[0.1, -0.2, 0.3], [0.5, 0.4, -0.1], [-0.3, 0.2, 0.2]];

    fn run<O: Optimizer>(o: &O, before_step: impl Fn(usize)) -> Vec<f32> {
        let device = Device::flex();
        let mut p = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5], [3]), &device);
        let mut state = None;
        for (i, g) in GRADS.iter().enumerate() {
            before_step(i);
            let g = Tensor::<1>::from_data(TensorData::new(g.to_vec(), [3]), &device);
            let (np, ns) = o.step(0.1, p, g, state);
            p = np;
            state = ns;
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
        let o = AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(Some(WeightDecayConfig::new(0.01)))
            .build();
        close(&run(&o, |_| {}), &[0.7857828211418143, -1.9773715864383254, 0.29701559500362]);
    }

    #[test]
    fn adamw_matches_torch() {
        let o = AdamWConfig::new().with_beta_2(0.98).with_epsilon(1e-8).with_weight_decay(0.1).build();
        close(&run(&o, |_| {}), &[0.7625212733953649, -1.9306541825744459, 0.28684981620989874]);
    }

    #[test]
    fn cycling_adamw_matches_torch_with_changing_betas() {
        let cell = Arc::new(AtomicU64::new(0.99f64.to_bits()));
        let o = CyclingAdamW { beta1: cell.clone(), beta2: 0.999, eps: 1e-8, weight_decay: 0.01, decoupled: true };
        let betas = [0.95, 0.9, 0.85];
        let got = run(&o, |i| cell.store(f64::to_bits(betas[i]), Ordering::Relaxed));
        close(&got, &[0.8167399387956691, -1.997371650643796, 0.35090474337869487]);
    }
}
