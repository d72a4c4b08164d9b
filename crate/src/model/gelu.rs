//! The exact GELU (TL's `gelu`: x·Φ(x)) with its exact gradient on every backend.
//!
//! burn 0.22's default `gelu_backward` is the derivative of the *tanh approximation*; Flex
//! overrides it with the exact one, burn-cubecl (WebGPU) does not. Trained on WebGPU, a GELU
//! model's gradients were 5e-4 (relative) off PyTorch's (the training-parity fixture
//! `train_ln_gelu`), ReLU's and SoLU's 1e-7. This node records the forward as it is and
//! differentiates it as Φ(x) + x·φ(x) with the backend's own erf (cubecl's is good to 1.5e-7).

#[cfg(any(feature = "gpu", feature = "webgpu"))]
use burn::backend::Cube;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::ops::ActivationOps;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension, tensor::FloatTensor};
use burn::tensor::Tensor;

use crate::model::unary_node::unary_node;

/// Only `Autodiff` overrides the node; the execution backends give the exact gradient (Flex
/// its own, the others the composed form below).
#[backend_extension(
    Flex: cfg(all()),
    Cube: cfg(any(feature = "gpu", feature = "webgpu")),
    Autodiff: cfg(all()),
)]
pub trait GeluBackend: Backend {
    fn gelu_node(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::gelu(x)
    }

    /// The gradient by x of Σ g ⊙ gelu(x).
    fn gelu_exact_backward(x: FloatTensor<Self>, g: FloatTensor<Self>) -> FloatTensor<Self> {
        composed_backward::<Self>(x, g)
    }
}

/// g ⊙ (Φ(x) + x·φ(x)), Φ(x) = (1 + erf(x/√2))/2, φ(x) = exp(−x²/2)/√(2π).
fn composed_backward<B: Backend>(x: FloatTensor<B>, g: FloatTensor<B>) -> FloatTensor<B> {
    use std::f32::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};
    let erf = B::float_erf(B::float_mul_scalar(x.clone(), FRAC_1_SQRT_2.into()));
    let cdf = B::float_mul_scalar(B::float_add_scalar(erf, 1.0.into()), 0.5.into());
    let sq = B::float_mul(x.clone(), x.clone());
    // 1/√(2π) = (2/√π)·(1/√2)/2
    let pdf = B::float_mul_scalar(
        B::float_exp(B::float_mul_scalar(sq, (-0.5).into())),
        (0.5 * FRAC_2_SQRT_PI * FRAC_1_SQRT_2).into(),
    );
    B::float_mul(g, B::float_add(cdf, B::float_mul(x, pdf)))
}

impl GeluBackend for Flex {
    fn gelu_exact_backward(x: FloatTensor<Self>, g: FloatTensor<Self>) -> FloatTensor<Self> {
        <Flex as ActivationOps<Flex>>::gelu_backward(x, g)
    }
}

#[cfg(any(feature = "gpu", feature = "webgpu"))]
impl GeluBackend for Cube {}

/// The exact GELU, differentiated exactly on every backend.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::gelu_node(x.into_dispatch()))
}

/// One node; its state is the input.
impl<B: GeluBackend, C: CheckpointStrategy> GeluBackend for Autodiff<B, C> {
    fn gelu_node(x: FloatTensor<Self>) -> FloatTensor<Self> {
        unary_node::<B, C, _>(x, |x| (B::gelu(x.clone()), x), |x, g| B::gelu_exact_backward(x, g))
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use burn::backend::flex::FlexTensor;
    use burn::backend::ops::ActivationOps;
    use burn::tensor::{Device, Tensor, TensorData, activation};

    fn xs() -> Vec<f32> {
        (0..40).map(|i| (i as f32 - 20.0) / 4.0).collect()
    }

    /// Values and gradients through the node and through burn's own (exact on Flex).
    #[test]
    fn the_node_is_burns_gelu_on_the_cpu() {
        let device = Device::flex().autodiff();
        let run = |f: &dyn Fn(Tensor<1>) -> Tensor<1>| {
            let x = Tensor::<1>::from_data(TensorData::new(xs(), [40]), &device).require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * y.clone()).sum().backward();
            let flat = |t: Tensor<1>| t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
            (flat(y.inner()), flat(Tensor::from_inner(x.grad(&grads).unwrap())))
        };
        let (y, g) = run(&|x| super::gelu(x));
        let (y0, g0) = run(&|x| activation::gelu(x));
        assert_eq!(y, y0);
        for (a, b) in g.iter().zip(&g0) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    /// The composed gradient (WebGPU's) is Flex's exact one, not the tanh approximation's.
    #[test]
    fn the_composed_gradient_is_the_exact_one() {
        let t = || FlexTensor::from_data(TensorData::new(xs(), [40]));
        let ones = || FlexTensor::from_data(TensorData::new(vec![1f32; 40], [40]));
        let flat = |t: FlexTensor| t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        let composed = flat(super::composed_backward::<Flex>(t(), ones()));
        let exact = flat(<Flex as ActivationOps<Flex>>::gelu_backward(t(), ones()));
        for (a, b) in composed.iter().zip(&exact) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
    }
}
