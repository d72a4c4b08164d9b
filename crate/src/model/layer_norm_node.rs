//! LayerNorm's normalisation, x̂ = (x − mean) / sqrt(mean((x − mean)²) + eps), as one autodiff
//! node: the training path of `LayerNorm` (no hook watching `hook_scale` or `hook_normalized`).
//!
//! Composed from burn ops it is three full-size tensors forward and about seven backward, each
//! a separate pass that Flex also zero-fills and copies; majority runs it on 32 768 rows of 64
//! (three times) and of 256 (SoLU's) every step. Here the forward keeps x̂ and σ per row, and the
//! backward is the closed form dx = (g − mean(g) − x̂ ⊙ mean(g ⊙ x̂)) / σ. Flex runs both as row
//! kernels; other backends (WebGPU) compose burn ops.

#[cfg(any(feature = "gpu", feature = "webgpu"))]
use burn::backend::Cube;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension, tensor::FloatTensor};
use burn::tensor::{DType, Shape, Tensor, TensorData};

use crate::model::row_kernels::map_rows;
use crate::model::unary_node::unary_node;

/// Only `Autodiff` overrides the node (to record it with its backward); the execution backends
/// provide the two halves.
#[backend_extension(
    Flex: cfg(all()),
    Cube: cfg(any(feature = "gpu", feature = "webgpu")),
    Autodiff: cfg(all()),
)]
pub trait LayerNormBackend: Backend {
    /// # Shapes
    /// - x: [rows, d]; output: [rows, d], each row centred and divided by its σ
    fn layer_norm_node(x: FloatTensor<Self>, eps: f64) -> FloatTensor<Self> {
        Self::layer_norm_forward(x, eps).0
    }

    /// x̂ [rows, d] and σ [rows, 1].
    fn layer_norm_forward(x: FloatTensor<Self>, eps: f64) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed_forward::<Self>(x, eps)
    }

    /// The gradient by x of Σ g ⊙ x̂, from the forward's x̂ and σ.
    fn layer_norm_backward(
        normalized: FloatTensor<Self>,
        sigma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        composed_backward::<Self>(normalized, sigma, grad)
    }
}

#[cfg(any(feature = "gpu", feature = "webgpu"))]
impl LayerNormBackend for Cube {}

/// (x − mean) / sqrt(mean((x − mean)²) + eps) along the last dimension, differentiated as one node.
pub fn normalize<const D: usize>(x: Tensor<D>, eps: f64) -> Tensor<D> {
    let dims = x.dims();
    let d = dims[D - 1];
    let rows = dims.iter().product::<usize>() / d.max(1);
    let y = Tensor::<2>::from_dispatch(Dispatch::layer_norm_node(x.reshape([rows, d]).into_dispatch(), eps));
    y.reshape(dims)
}

/// TL's order of operations: centre, σ from the mean square, divide.
fn composed_forward<B: Backend>(x: FloatTensor<B>, eps: f64) -> (FloatTensor<B>, FloatTensor<B>) {
    let centred = B::float_sub(x.clone(), B::float_mean_dim(x, 1));
    let var = B::float_mean_dim(B::float_mul(centred.clone(), centred.clone()), 1);
    let sigma = B::float_sqrt(B::float_add_scalar(var, (eps as f32).into()));
    (B::float_div(centred, sigma.clone()), sigma)
}

fn composed_backward<B: Backend>(xhat: FloatTensor<B>, sigma: FloatTensor<B>, g: FloatTensor<B>) -> FloatTensor<B> {
    let mean_g = B::float_mean_dim(g.clone(), 1);
    let mean_gx = B::float_mean_dim(B::float_mul(g.clone(), xhat.clone()), 1);
    let inner = B::float_sub(B::float_sub(g, mean_g), B::float_mul(xhat, mean_gx));
    B::float_div(inner, sigma)
}

/// A contiguous f32 view of a Flex tensor (a copy only when it is strided).
fn f32s(t: &FlexTensor) -> Option<FlexTensor> {
    (t.dtype() == DType::F32).then(|| t.to_contiguous())
}

impl LayerNormBackend for Flex {
    fn layer_norm_forward(x: FlexTensor, eps: f64) -> (FlexTensor, FlexTensor) {
        let [rows, d] = x.shape().dims();
        let Some(x) = f32s(&x).filter(|_| d > 0) else { return composed_forward::<Flex>(x, eps) };
        let xs = x.as_slice::<f32>().expect("contiguous");
        let mut out = vec![0f32; rows * d];
        let sigma = map_rows(&mut out, d, |row, o| {
            let x = &xs[row * d..(row + 1) * d];
            let mean = x.iter().sum::<f32>() / d as f32;
            let mut square = 0f32;
            for (o, &v) in o.iter_mut().zip(x) {
                *o = v - mean;
                square += *o * *o;
            }
            let sigma = (square / d as f32 + eps as f32).sqrt();
            o.iter_mut().for_each(|o| *o /= sigma);
            sigma
        });
        let t = |v: Vec<f32>, shape: [usize; 2]| FlexTensor::from_data(TensorData::new(v, shape));
        (t(out, [rows, d]), t(sigma, [rows, 1]))
    }

    fn layer_norm_backward(xhat: FlexTensor, sigma: FlexTensor, g: FlexTensor) -> FlexTensor {
        let [rows, d] = xhat.shape().dims();
        let (Some(xh), Some(s), Some(gc), true) = (f32s(&xhat), f32s(&sigma), f32s(&g), d > 0) else {
            return composed_backward::<Flex>(xhat, sigma, g);
        };
        let (xh, s, gs) = (
            xh.as_slice::<f32>().expect("contiguous"),
            s.as_slice::<f32>().expect("contiguous"),
            gc.as_slice::<f32>().expect("contiguous"),
        );
        let mut dx = vec![0f32; rows * d];
        map_rows(&mut dx, d, |row, o| {
            let (g, xh) = (&gs[row * d..(row + 1) * d], &xh[row * d..(row + 1) * d]);
            let mean_g = g.iter().sum::<f32>() / d as f32;
            let mean_gx = g.iter().zip(xh).map(|(g, x)| g * x).sum::<f32>() / d as f32;
            let inv = 1.0 / s[row];
            for ((o, &g), &x) in o.iter_mut().zip(g).zip(xh) {
                *o = (g - mean_g - x * mean_gx) * inv;
            }
        });
        FlexTensor::from_data(TensorData::new(dx, Shape::new([rows, d])))
    }
}

/// One node; its state is x̂ and σ.
impl<B: LayerNormBackend, C: CheckpointStrategy> LayerNormBackend for Autodiff<B, C> {
    fn layer_norm_node(x: FloatTensor<Self>, eps: f64) -> FloatTensor<Self> {
        let forward = |x| {
            let (xhat, sigma) = B::layer_norm_forward(x, eps);
            (xhat.clone(), (xhat, sigma))
        };
        unary_node::<B, C, _>(x, forward, |(xhat, sigma), g| B::layer_norm_backward(xhat, sigma, g))
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};

    /// Values and gradients of Σ w ⊙ x̂ through the node and through TL's composed form, with
    /// more rows than one parallel chunk and rows of very different scales.
    #[test]
    fn matches_the_composed_form() {
        let device = Device::flex().autodiff();
        let (b, p, d) = (4, 400, 12);
        let n = b * p * d;
        let xs: Vec<f32> = (0..n).map(|i| (((i * 37) % 23) as f32 - 11.0) * (1 + (i / d) % 4) as f32 * 0.3).collect();
        let ws: Vec<f32> = (0..n).map(|i| ((i * 13) % 9) as f32 / 9.0 - 0.3).collect();
        let w = Tensor::<3>::from_data(TensorData::new(ws, [b, p, d]), &device);
        let eps = 1e-5;
        let run = |f: &dyn Fn(Tensor<3>) -> Tensor<3>| {
            let x = Tensor::<3>::from_data(TensorData::new(xs.clone(), [b, p, d]), &device).require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * w.clone()).sum().backward();
            let flat = |d: TensorData| d.convert::<f32>().try_to_vec::<f32>().unwrap();
            (flat(y.inner().into_data()), flat(x.grad(&grads).unwrap().into_data()))
        };
        let (y, g) = run(&|x| super::normalize(x, eps));
        let (y0, g0) = run(&|x| {
            let c = x.clone() - x.mean_dim(2);
            c.clone() / (c.square().mean_dim(2) + eps).sqrt()
        });
        for (what, a, b) in [("value", &y, &y0), ("gradient", &g, &g0)] {
            for (i, (p, q)) in a.iter().zip(b.iter()).enumerate() {
                assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{what}: element {i} is {p}, composed {q}");
            }
        }
    }

    /// The composed forms (what WebGPU runs) against the Flex kernels, both halves.
    #[test]
    fn composed_forms_match_the_flex_kernels() {
        use super::{LayerNormBackend, composed_backward, composed_forward};
        use burn::backend::Flex;
        use burn::backend::flex::FlexTensor;
        let (rows, d): (usize, usize) = (70, 9);
        let t = |f: &dyn Fn(usize) -> f32| {
            FlexTensor::from_data(TensorData::new((0..rows * d).map(f).collect::<Vec<f32>>(), [rows, d]))
        };
        let x = || t(&|i| ((i * 29) % 19) as f32 * 0.9 - 7.0);
        let g = || t(&|i| ((i * 7) % 11) as f32 / 11.0 - 0.5);
        let flat = |t: FlexTensor| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let (y, s) = Flex::layer_norm_forward(x(), 1e-5);
        let (y0, s0) = composed_forward::<Flex>(x(), 1e-5);
        let dx = Flex::layer_norm_backward(y.clone(), s.clone(), g());
        let dx0 = composed_backward::<Flex>(y0.clone(), s0.clone(), g());
        for (what, a, b) in [("value", y, y0), ("sigma", s, s0), ("gradient", dx, dx0)] {
            for (i, (p, q)) in flat(a).iter().zip(flat(b).iter()).enumerate() {
                assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{what}: element {i} is {p}, composed {q}");
            }
        }
    }
}
