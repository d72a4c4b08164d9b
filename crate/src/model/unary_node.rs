//! One autodiff node over one float input, for the fused operations (softmax, LayerNorm,
//! cross-entropy): the inner backend's forward runs once and returns what the backward needs;
//! the backward is a closed form over that state and the output's gradient.

use core::fmt;

use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Backend, tensor::FloatTensor};

/// The recorded step: `grad(state, g)` is the gradient by the input.
struct UnaryBackward<B: Backend, S> {
    grad: fn(S, FloatTensor<B>) -> FloatTensor<B>,
}

impl<B: Backend, S> fmt::Debug for UnaryBackward<B, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnaryBackward")
    }
}

impl<B: Backend, S: Clone + Send + fmt::Debug + 'static> Backward<B, 1> for UnaryBackward<B, S> {
    type State = S;

    fn backward(self, ops: Ops<S, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [parent] = ops.parents;
        let g = grads.consume::<B>(&ops.node);
        if let Some(parent) = parent {
            grads.register::<B>(parent.id, (self.grad)(ops.state, g));
        }
    }
}

/// `forward(x)` on the inner backend, giving (output, state), recorded as one node whose
/// backward is `grad(state, g)`. Untracked, only the output is kept.
pub fn unary_node<B: Backend, C: CheckpointStrategy, S: Clone + Send + fmt::Debug + 'static>(
    x: FloatTensor<Autodiff<B, C>>,
    forward: impl FnOnce(FloatTensor<B>) -> (FloatTensor<B>, S),
    grad: fn(S, FloatTensor<B>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    match (UnaryBackward { grad }).prepare::<C>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let (y, state) = forward(x.into_primitive());
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.into_primitive()).0),
    }
}
