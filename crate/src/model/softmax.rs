//! Softmax with a backward pass of its own.
//!
//! burn-autodiff 0.22 has no softmax node: it records the five operations softmax is made of
//! (max, sub, exp, sum, div) and differentiates each, a dozen passes over a full-size tensor.
//! perf put majority's step in exactly that elementwise work (attention softmax over
//! [256, 2, 128, 128], SoLU's over [256, 128, 256]). Here the forward is a fused row kernel
//! (on the CPU `model::row_kernels`, with a SIMD exp) and the backward is its closed form,
//! y = softmax(x), dx = y ⊙ (g − Σ g ⊙ y); numerically the composed form's up to rounding (the
//! test below). The loss's log-softmax is fused with its gather: `train::cross_entropy`.

#[cfg(any(feature = "gpu", feature = "webgpu"))]
use burn::backend::Cube;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ActivationOps;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension, tensor::FloatTensor};
use burn::tensor::{DType, Tensor, TensorData};

use crate::model::row_kernels::{map_rows, softmax_row};
use crate::model::unary_node::unary_node;

/// Routed by `Dispatch` to the tensor's backend. The execution backends keep the default body
/// (their own `softmax`); only `Autodiff` overrides it, to record one node with the backward
/// below.
// Cube (wgpu natively, WebGPU in the browser) is in every build but the CPU-only wasm.
#[backend_extension(
    Flex: cfg(all()),
    Cube: cfg(any(feature = "gpu", feature = "webgpu")),
    Autodiff: cfg(all()),
)]
pub trait SoftmaxBackend: Backend {
    fn softmax_node(x: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        Self::softmax(x, dim)
    }
}

/// The last dimension of an f32 tensor goes through the SIMD row kernel; anything else through
/// Flex's own softmax.
impl SoftmaxBackend for Flex {
    fn softmax_node(x: FlexTensor, dim: usize) -> FlexTensor {
        let shape = x.shape();
        let rank = shape.num_dims();
        if x.dtype() != DType::F32 || dim + 1 != rank || shape[rank - 1] == 0 {
            return <Flex as ActivationOps<Flex>>::softmax(x, dim);
        }
        let x = x.to_contiguous();
        let xs = x.as_slice::<f32>().expect("a contiguous f32 tensor");
        let width = shape[rank - 1];
        let mut out = vec![0f32; xs.len()];
        map_rows(&mut out, width, |row, o| {
            softmax_row(&xs[row * width..(row + 1) * width], o);
        });
        FlexTensor::from_data(TensorData::new(out, shape))
    }
}
#[cfg(any(feature = "gpu", feature = "webgpu"))]
impl SoftmaxBackend for Cube {}

/// Softmax along `dim`, differentiated as one node.
pub fn softmax<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::softmax_node(x.into_dispatch(), dim))
}

/// One node; its state is softmax's output and the dimension.
impl<B: SoftmaxBackend, C: CheckpointStrategy> SoftmaxBackend for Autodiff<B, C> {
    fn softmax_node(x: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        let forward = |x| {
            let y = B::softmax_node(x, dim);
            (y.clone(), (y, dim))
        };
        unary_node::<B, C, _>(x, forward, |(y, dim), g| {
            let dot = B::float_sum_dim(B::float_mul(g.clone(), y.clone()), dim);
            B::float_mul(y, B::float_sub(g, dot))
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData, activation};

    /// Values and gradients of Σ w ⊙ softmax(x) through the one-node form and through burn's
    /// composed one, along every dimension, with masked (−inf) entries as attention has.
    #[test]
    fn one_node_form_matches_the_composed_one() {
        let device = Device::flex().autodiff();
        let shape = [3, 4, 5];
        let n = 60;
        // Deterministic values from −8 to 8, one −inf per row of the last dimension.
        let xs: Vec<f32> = (0..n)
            .map(|i| if i % 5 == 4 && i % 3 == 0 { f32::NEG_INFINITY } else { ((i * 37) % 17) as f32 - 8.0 })
            .collect();
        let ws: Vec<f32> = (0..n).map(|i| ((i * 11) % 7) as f32 / 7.0 - 0.4).collect();
        let w = Tensor::<3>::from_data(TensorData::new(ws, shape), &device);
        let run = |f: &dyn Fn(Tensor<3>) -> Tensor<3>| {
            let x = Tensor::<3>::from_data(TensorData::new(xs.clone(), shape), &device).require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * w.clone()).sum().backward();
            let flat = |t: Tensor<3>| t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
            (flat(y.inner()), flat(Tensor::from_inner(x.grad(&grads).unwrap())))
        };
        let close = |a: &[f32], b: &[f32], what: &str| {
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                let same = (p.is_infinite() && p == q) || (p - q).abs() <= 1e-5 * (1.0 + q.abs());
                assert!(same, "{what}: element {i} is {p}, composed {q}");
            }
        };
        for dim in 0..3 {
            let (y, g) = run(&|x| super::softmax(x, dim));
            let (y0, g0) = run(&|x| activation::softmax(x, dim));
            close(&y, &y0, &format!("softmax dim {dim}"));
            close(&g, &g0, &format!("softmax gradient dim {dim}"));
        }
    }
}
