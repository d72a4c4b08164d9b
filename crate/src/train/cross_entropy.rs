//! Cross-entropy per row as one autodiff node, with a one-pass CPU kernel.
//!
//! The loss's log-softmax, gather and their backward passes were a dozen full-size tensors per
//! step (each Flex output is zero-filled, then copied into an aligned buffer, then written):
//! on min, 32 000 rows × 200 classes, that elementwise work outweighed the model. Here:
//! - forward: per row, the max, Σ exp and the softmax in one sweep; the output is the row's
//!   negative log-likelihood, lse − x[target];
//! - backward: dx = (softmax − onehot(target)) ⊙ g, in place in the softmax the forward kept.
//!
//! Flex runs both as row kernels (`model::row_kernels`); other backends (WebGPU) compose burn
//! ops.

#[cfg(any(feature = "gpu", feature = "webgpu"))]
use burn::backend::Cube;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::flex::FlexTensor;
use burn::backend::{
    Autodiff, Backend, Dispatch, Flex, backend_extension,
    tensor::{FloatTensor, IntTensor},
};
use burn::tensor::{DType, IndexingUpdateOp, Int, Shape, Tensor, TensorData};

use crate::model::row_kernels::{map_rows, softmax_row};
use crate::model::unary_node::unary_node;

/// Only `Autodiff` overrides the node (to record it with its backward); the execution
/// backends provide the two halves.
#[backend_extension(
    Flex: cfg(all()),
    Cube: cfg(any(feature = "gpu", feature = "webgpu")),
    Autodiff: cfg(all()),
)]
pub trait CrossEntropyBackend: Backend {
    /// # Shapes
    /// - logits: [rows, classes]; targets: [rows] (class ids)
    /// - output: [rows], −log softmax(logits)[target]
    fn cross_entropy_node(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self> {
        Self::cross_entropy_forward(logits, targets).0
    }

    /// The per-row losses [rows] and the softmax [rows, classes] the backward reuses.
    fn cross_entropy_forward(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed_forward::<Self>(logits, targets)
    }

    /// (softmax − onehot(targets)) ⊙ g[:, None]: the gradient of Σ g ⊙ loss by the logits.
    fn cross_entropy_backward(
        softmax: FloatTensor<Self>,
        targets: IntTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        composed_backward::<Self>(softmax, targets, grad)
    }
}

#[cfg(any(feature = "gpu", feature = "webgpu"))]
impl CrossEntropyBackend for Cube {}

/// Per-row cross-entropy of `logits` [rows, classes] against `targets` [rows], differentiated as
/// one node (the targets are constants).
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    Tensor::from_dispatch(Dispatch::cross_entropy_node(logits.into_dispatch(), targets.into_dispatch()))
}

fn composed_forward<B: Backend>(logits: FloatTensor<B>, targets: IntTensor<B>) -> (FloatTensor<B>, FloatTensor<B>) {
    let rows = logits.shape()[0];
    let max = B::float_max_dim(logits.clone(), 1);
    let e = B::float_exp(B::float_sub(logits.clone(), max.clone()));
    let sum = B::float_sum_dim(e.clone(), 1);
    let softmax = B::float_div(e, sum.clone());
    let lse = B::float_add(B::float_log(sum), max);
    let picked = B::float_gather(1, logits, B::int_reshape(targets, Shape::new([rows, 1])));
    (B::float_reshape(B::float_sub(lse, picked), Shape::new([rows])), softmax)
}

fn composed_backward<B: Backend>(
    softmax: FloatTensor<B>,
    targets: IntTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let rows = softmax.shape()[0];
    let g = B::float_reshape(grad, Shape::new([rows, 1]));
    let scaled = B::float_mul(softmax, g.clone());
    let at = B::int_reshape(targets, Shape::new([rows, 1]));
    B::float_scatter(1, scaled, at, B::float_neg(g), IndexingUpdateOp::Add)
}

/// Class ids as usize (a negative id cannot index a class: it reads as out of range).
fn target_ids(targets: FlexTensor) -> Vec<usize> {
    let data = targets.into_data().convert::<i64>();
    let ids = data.try_to_vec::<i64>().expect("integer targets convert to i64");
    ids.into_iter().map(|t| usize::try_from(t).unwrap_or(usize::MAX)).collect()
}

impl CrossEntropyBackend for Flex {
    fn cross_entropy_forward(logits: FlexTensor, targets: FlexTensor) -> (FlexTensor, FlexTensor) {
        let [rows, classes] = logits.shape().dims();
        if logits.dtype() != DType::F32 || classes == 0 {
            return composed_forward::<Flex>(logits, targets);
        }
        let logits = logits.to_contiguous();
        let x = logits.as_slice::<f32>().expect("a contiguous f32 tensor");
        let ids = target_ids(targets);
        let mut softmax = vec![0f32; rows * classes];
        let loss = map_rows(&mut softmax, classes, |row, p| {
            let x = &x[row * classes..(row + 1) * classes];
            let (max, sum) = softmax_row(x, p);
            // An id past the classes has no logit: the loss is NaN, which the trainer reports
            // as divergence rather than a panic.
            x.get(ids[row]).map_or(f32::NAN, |&xt| max + sum.ln() - xt)
        });
        let f = |v: Vec<f32>, shape: &[usize]| FlexTensor::from_data(TensorData::new(v, shape.to_vec()));
        (f(loss, &[rows]), f(softmax, &[rows, classes]))
    }

    fn cross_entropy_backward(mut softmax: FlexTensor, targets: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let [_, classes] = softmax.shape().dims();
        if softmax.dtype() != DType::F32 || grad.dtype() != DType::F32 || classes == 0 {
            return composed_backward::<Flex>(softmax, targets, grad);
        }
        let grad = grad.to_contiguous();
        let g = grad.as_slice::<f32>().expect("a contiguous f32 tensor");
        let ids = target_ids(targets);
        // The softmax is this node's own (uniquely held): it becomes the gradient in place.
        map_rows(softmax.storage_mut::<f32>(), classes, |row, p| {
            p.iter_mut().for_each(|p| *p *= g[row]);
            if let Some(pt) = p.get_mut(ids[row]) {
                *pt -= g[row];
            }
        });
        softmax
    }
}

/// One node; its state is the softmax and the targets (constants: no gradient).
impl<B: CrossEntropyBackend, C: CheckpointStrategy> CrossEntropyBackend for Autodiff<B, C> {
    fn cross_entropy_node(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self> {
        let forward = |x| {
            let (loss, softmax) = B::cross_entropy_forward(x, targets.clone());
            (loss, (softmax, targets))
        };
        unary_node::<B, C, _>(logits, forward, |(softmax, targets), g| B::cross_entropy_backward(softmax, targets, g))
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Int, Tensor, TensorData, activation};

    /// Losses and gradients of Σ w ⊙ loss through the node and through burn's log-softmax and
    /// gather, with more rows than one parallel chunk, a zero weight (an ignored position) and
    /// logits large enough to overflow an unshifted exp.
    #[test]
    fn matches_log_softmax_and_gather() {
        let device = Device::flex().autodiff();
        let (rows, classes): (usize, usize) = (3000, 7);
        let xs: Vec<f32> =
            (0..rows * classes).map(|i| ((i * 37) % 23) as f32 * 0.7 - 8.0 + (i % 5) as f32 * 20.0).collect();
        let ts: Vec<i32> = (0..rows).map(|r| ((r * 5) % classes) as i32).collect();
        let ws: Vec<f32> =
            (0..rows).map(|r| if r % 11 == 3 { 0.0 } else { ((r * 13) % 9) as f32 / 9.0 - 0.3 }).collect();
        let w = Tensor::<1>::from_data(TensorData::new(ws, [rows]), &device);
        let targets = Tensor::<1, Int>::from_data(TensorData::new(ts, [rows]), &device);
        let run = |f: &dyn Fn(Tensor<2>) -> Tensor<1>| {
            let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [rows, classes]), &device).require_grad();
            let loss = f(x.clone());
            let grads = (loss.clone() * w.clone()).sum().backward();
            let flat = |d: TensorData| d.convert::<f32>().try_to_vec::<f32>().unwrap();
            (flat(loss.inner().into_data()), flat(x.grad(&grads).unwrap().into_data()))
        };
        let (loss, grad) = run(&|x| super::cross_entropy(x, targets.clone()));
        let (loss0, grad0) = run(&|x| {
            let at = targets.clone().reshape([rows, 1]);
            -activation::log_softmax(x, 1).gather(1, at).reshape([rows])
        });
        for (what, a, b) in [("loss", &loss, &loss0), ("gradient", &grad, &grad0)] {
            for (i, (p, q)) in a.iter().zip(b.iter()).enumerate() {
                assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{what}: element {i} is {p}, composed {q}");
            }
        }
    }

    /// The composed forms (what WebGPU runs) against the Flex kernels, both halves.
    #[test]
    fn composed_forms_match_the_flex_kernels() {
        use super::{CrossEntropyBackend, composed_backward, composed_forward};
        use burn::backend::Flex;
        use burn::backend::flex::FlexTensor;
        let (rows, classes) = (70, 5);
        let xs: Vec<f32> = (0..rows * classes).map(|i| ((i * 29) % 19) as f32 * 0.9 - 7.0).collect();
        let x = || FlexTensor::from_data(TensorData::new(xs.clone(), [rows, classes]));
        let ts: Vec<i64> = (0..rows as i64).map(|r| (r * 3) % classes as i64).collect();
        let t = || FlexTensor::from_data(TensorData::new(ts.clone(), [rows]));
        let gs: Vec<f32> = (0..rows).map(|r| (r % 7) as f32 / 7.0 - 0.5).collect();
        let g = || FlexTensor::from_data(TensorData::new(gs.clone(), [rows]));
        let flat = |t: FlexTensor| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let (loss, p) = Flex::cross_entropy_forward(x(), t());
        let (loss0, p0) = composed_forward::<Flex>(x(), t());
        let dx = Flex::cross_entropy_backward(p.clone(), t(), g());
        let dx0 = composed_backward::<Flex>(p0.clone(), t(), g());
        for (what, a, b) in [("loss", loss, loss0), ("softmax", p, p0), ("gradient", dx, dx0)] {
            for (i, (p, q)) in flat(a).iter().zip(flat(b).iter()).enumerate() {
                assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{what}: element {i} is {p}, composed {q}");
            }
        }
    }
}
