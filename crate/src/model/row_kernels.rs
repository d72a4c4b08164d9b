//! Row kernels of the CPU backend's fused nodes (softmax, cross-entropy): one sweep per row,
//! exp on SIMD lanes, rows shared out to threads natively.
//!
//! The exp is `wide`'s vectorized polynomial (f32x8: AVX or SSE lanes natively, simd128 in the
//! browser). Flex has no SIMD exp: its softmax and exp call the scalar libm `expf` once per
//! element, which perf put at 15% of min's training step.

use wide::f32x8;

/// Values for one rayon task: enough work to amortize the task (cumsum's loss rows hold 3
/// values, its attention rows 20), small enough to share a big tensor out.
#[cfg(not(target_arch = "wasm32"))]
const VALUES_PER_TASK: usize = 16 * 1024;

/// `f(row, values)` for each row of `data` (`width` > 0 values a row), in row order, its
/// results collected; rows are shared out to threads in tasks natively (wasm has one thread).
pub fn map_rows<T: Send>(data: &mut [f32], width: usize, f: impl Fn(usize, &mut [f32]) -> T + Send + Sync) -> Vec<T> {
    let run = |first: usize, rows: &mut [f32]| -> Vec<T> {
        rows.chunks_exact_mut(width).enumerate().map(|(r, row)| f(first + r, row)).collect()
    };
    #[cfg(not(target_arch = "wasm32"))]
    if data.len() > VALUES_PER_TASK {
        use rayon::prelude::*;
        let rows_per_task = (VALUES_PER_TASK / width).max(1);
        let parts: Vec<Vec<T>> = data
            .par_chunks_mut(rows_per_task * width)
            .enumerate()
            .map(|(i, rows)| run(i * rows_per_task, rows))
            .collect();
        return parts.into_iter().flatten().collect();
    }
    run(0, data)
}

/// The softmax of `x` into `out` (same length). Returns the row's max and Σ exp(x − max), so
/// log-sum-exp is `max + sum.ln()`. A row of −inf gives NaN, as torch's softmax does.
pub fn softmax_row(x: &[f32], out: &mut [f32]) -> (f32, f32) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let shift = f32x8::splat(max);
    let mut acc = f32x8::ZERO;
    let (mut xs, mut outs) = (x.chunks_exact(8), out.chunks_exact_mut(8));
    for (x, o) in (&mut xs).zip(&mut outs) {
        let e = (f32x8::new(x.try_into().expect("8 lanes")) - shift).exp();
        acc += e;
        o.copy_from_slice(&e.to_array());
    }
    let mut sum = acc.reduce_add();
    for (x, o) in xs.remainder().iter().zip(outs.into_remainder()) {
        *o = (x - max).exp();
        sum += *o;
    }
    let inv = 1.0 / sum;
    out.iter_mut().for_each(|o| *o *= inv);
    (max, sum)
}

#[cfg(test)]
mod tests {
    /// Against the scalar definition in f64, on rows longer and shorter than a lane group, with
    /// −inf entries (a causal mask) and a spread wider than f32's exp range.
    #[test]
    fn softmax_row_matches_the_definition() {
        for len in [1, 3, 8, 13, 200] {
            let x: Vec<f32> = (0..len)
                .map(|i| if i % 7 == 5 { f32::NEG_INFINITY } else { ((i * 37) % 29) as f32 * 9.0 - 120.0 })
                .collect();
            let mut out = vec![0.0; len];
            let (max, sum) = super::softmax_row(&x, &mut out);
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let s: f64 = x.iter().map(|&v| (v as f64 - m).exp()).sum();
            assert_eq!(max as f64, m);
            assert!((sum as f64 - s).abs() <= 1e-6 * s, "len {len}: sum {sum} vs {s}");
            for (i, (&o, &v)) in out.iter().zip(&x).enumerate() {
                let want = (v as f64 - m).exp() / s;
                assert!((o as f64 - want).abs() <= 1e-6 * want + 1e-38, "len {len}, element {i}: {o} vs {want}");
            }
        }
    }
}
