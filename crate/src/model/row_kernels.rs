//! Row kernels of the CPU backend's fused nodes (softmax, cross-entropy): one sweep per row,
//! exp on SIMD lanes, rows shared out to threads natively.
//!
//! The exp is `wide`'s vectorized polynomial (f32x8: AVX or SSE lanes natively, simd128 in the
//! browser). Flex has no SIMD exp: its softmax and exp call the scalar libm `expf` once per
//! element, which perf put at 15% of min's training step.

use wide::{f32x4, f32x8};

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

/// e^x on four lanes (one wasm v128) for x ≤ 0: the terms of a log-sum-exp, each logit less
/// the row's max. Inlined where it is used, with none of the special cases of `wide`'s general
/// `exp`, which the browser build called once per eight values, ~90 ns each (half of the
/// neuron scan). Cephes' `expf`:
/// x = n·ln 2 + r, |r| ≤ ln 2 / 2, e^r by its degree-6 polynomial (within 2 ulp of e^x), 2^n
/// from the exponent bits. Below −87 the value is under 2⁻¹²⁵ (clamped there: beside the max's
/// e⁰ = 1 it adds nothing to a sum); NaN stays NaN.
#[inline(always)]
pub fn exp_nonpositive(x: f32x4) -> f32x4 {
    let c = f32x4::splat;
    let y = x.max(c(-87.0));
    let n = (y * c(std::f32::consts::LOG2_E)).round();
    let r = y - n * c(0.693_359_4) - n * c(-2.121_944_4e-4);
    let mut p = c(1.987_569_1e-4);
    for k in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = p * r + c(k);
    }
    let e = p * r * r + r + c(1.0);
    let two_n: f32x4 = wide::bytemuck::cast((n.round_int() + wide::i32x4::splat(127)) << 23);
    x.is_nan().select(x, e * two_n)
}

#[cfg(test)]
mod tests {
    /// Against the scalar definition in f64, on rows longer and shorter than a lane group, with
    /// −inf entries (a causal mask) and a spread wider than f32's exp range.
    #[test]
    fn exp_nonpositive_is_within_two_ulp() {
        let mut xs: Vec<f32> = (0..200_000).map(|i| -(i as f32) * 1e-3).collect();
        xs.extend([-0.0, -1e-30, -86.9, -87.0, -87.5, -200.0, f32::NEG_INFINITY]);
        for chunk in xs.chunks(4) {
            let mut lanes = [0.0f32; 4];
            lanes[..chunk.len()].copy_from_slice(chunk);
            let got = super::exp_nonpositive(wide::f32x4::new(lanes)).to_array();
            for (&x, &e) in chunk.iter().zip(&got) {
                let want = (x as f64).exp();
                if x < -87.0 {
                    assert!((0.0..=2f32.powi(-125)).contains(&e), "e^{x}: {e}");
                } else {
                    let ulp = f32::EPSILON as f64 * want;
                    assert!((e as f64 - want).abs() <= 2.0 * ulp, "e^{x}: {e} vs {want}");
                }
            }
        }
        let nan = super::exp_nonpositive(wide::f32x4::splat(f32::NAN)).to_array();
        assert!(nan.iter().all(|v| v.is_nan()));
    }

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
