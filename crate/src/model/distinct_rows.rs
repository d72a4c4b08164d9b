//! Products whose left rows repeat, computed once per distinct row.
//!
//! The first block's queries, keys and values read the embedded tokens, which depend on the
//! token and its position alone: addition's 200 held-out sums have at most 12 tokens × 18
//! positions, 216 distinct rows among 3600. An ablation that zeroes or mean-ablates the
//! attention leaves the same before the MLP. burn has no "unique rows"; the search is a hash
//! map over each row's bits (~1 ns a value), against a product of ≥ 64 columns per value.

use std::collections::HashMap;

use burn::tensor::{Device, Int, Tensor, TensorData};

/// Fewer rows than this are multiplied as they are: the product is cheap anyway.
const MIN_ROWS: usize = 64;

/// `x · w` ([n, d] × [d, m] → [n, m]) with each distinct row of `x` multiplied once, when at
/// most three quarters of the rows are distinct. A row's product does not depend on the other
/// rows, so the values are those of `x.matmul(w)`. Only on the plain CPU device, where reading
/// `x` back is a copy: on WebGPU, and under autodiff (training), it is the plain product.
pub fn matmul_distinct_rows(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    let n = x.dims()[0];
    if n < MIN_ROWS || x.device() != Device::flex() {
        return x.matmul(w);
    }
    match distinct_rows(&x) {
        Some((firsts, of_row)) => {
            let device = x.device();
            let index = |v: Vec<i32>| {
                let len = v.len();
                Tensor::<1, Int>::from_data(TensorData::new(v, [len]), &device)
            };
            x.select(0, index(firsts)).matmul(w).select(0, index(of_row))
        }
        None => x.matmul(w),
    }
}

/// The first row of each distinct value of `x`'s rows, and for every row the index of its
/// value among those; None when over three quarters of the rows are distinct (the search
/// stops there: it would save too little).
fn distinct_rows(x: &Tensor<2>) -> Option<(Vec<i32>, Vec<i32>)> {
    let [n, d] = x.dims();
    let values = x.to_data().convert::<f32>().try_into_vec::<f32>().ok()?;
    // Bits, not floats: rows equal bit for bit give bit-equal products (0.0 and −0.0, or two
    // NaNs, need not).
    let bits: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
    let most = n * 3 / 4;
    let mut seen: HashMap<&[u32], i32> = HashMap::with_capacity(most + 1);
    let (mut firsts, mut of_row) = (Vec::new(), Vec::with_capacity(n));
    for (r, row) in bits.chunks_exact(d.max(1)).enumerate() {
        let next = firsts.len() as i32;
        let k = *seen.entry(row).or_insert(next);
        if k == next {
            firsts.push(r as i32);
            if firsts.len() > most {
                return None;
            }
        }
        of_row.push(k);
    }
    Some((firsts, of_row))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows repeated in a pattern: the same values as the plain product; too few repeats or
    /// too few rows take the plain path and agree too.
    #[test]
    fn repeated_rows_give_the_plain_product() {
        let device = Device::flex();
        let (d, m) = (16, 24);
        let w = Tensor::<2>::from_data(
            TensorData::new((0..d * m).map(|i| ((i * 37) % 23) as f32 * 0.1 - 1.1).collect::<Vec<_>>(), [d, m]),
            &device,
        );
        for (n, kinds) in [(200, 7), (200, 190), (10, 3)] {
            let x: Vec<f32> =
                (0..n).flat_map(|r| (0..d).map(move |c| ((r % kinds) * 31 + c * 7) as f32 * 0.01)).collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [n, d]), &device);
            let vals = |t: Tensor<2>| (t.dims(), t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap());
            let (got_dims, got) = vals(matmul_distinct_rows(x.clone(), w.clone()));
            let (want_dims, want) = vals(x.clone().matmul(w.clone()));
            assert_eq!(got_dims, want_dims);
            assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() <= 1e-6), "{n} rows of {kinds} kinds");
            let found = distinct_rows(&x);
            match (n, kinds) {
                (200, 7) => assert_eq!(found.map(|(f, _)| f), Some((0..7).collect())),
                (200, 190) => assert!(found.is_none()),
                _ => {}
            }
        }
    }
}
