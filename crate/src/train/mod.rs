//! Training: recipes, optimizers, schedules and the stepwise loop.

pub mod cross_entropy;
pub mod eval;
pub mod loss;
pub mod optim;
pub mod recipe;
pub mod replay;
pub mod schedule;
pub mod shards;
pub mod state;
pub mod timeline;
pub mod trainer;

pub use recipe::Recipe;
pub use timeline::checkpoint_steps;
pub use trainer::{EvalLog, StepLog, Trainer};

/// Drives a future that never waits (Flex reads are immediate): the async paths in the unit
/// and integration tests.
#[doc(hidden)]
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
