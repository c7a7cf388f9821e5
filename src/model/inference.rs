//! The decoder's one-token step for inference, on plain f32 buffers.
//!
//! Beam search and sampling feed one token per hypothesis per step. Through candle a
//! step built ~100 small tensors, handed 1-8-row products to rayon and grew the cache by
//! `Tensor::cat`: the arithmetic was about a fifth of the time. Here the weights are
//! copied once into row-major buffers, the self-attention cache is allocated once for the
//! whole sequence, and every product is one single-threaded gemm call (threads cost more
//! than they gain on products of a few rows, and one of the two cores is often busy).
//! The arithmetic is `network::CadModel::step`'s, in the same order of operations; a test
//! holds the logits equal up to float rounding.

use anyhow::{ensure, Result};
use candle_core::cpu::erf::erf_f32;

/// A linear layer: `wt` is (n_in, n_out), row-major.
pub struct Linear {
    pub wt: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub n_in: usize,
    pub n_out: usize,
}

pub struct LayerNorm {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

pub struct LayerWeights {
    pub self_norm: LayerNorm,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub self_out: Linear,
    pub cross_norm: LayerNorm,
    pub cross_q: Linear,
    pub cross_out: Linear,
    pub ff_norm: LayerNorm,
    pub ff_in: Linear,
    pub ff_out: Linear,
}

/// The decoder's weights (see `network::CadModel::decoder_net`).
pub struct DecoderNet {
    pub layers: Vec<LayerWeights>,
    pub final_norm: LayerNorm,
    /// (vocab, d_model): the token embedding.
    pub embed: Vec<f32>,
    /// (max_len, d_model): the learnt positions.
    pub position: Vec<f32>,
    /// (d_model, out_cols): the output layer (the embedding transposed, maybe padded).
    pub output: Vec<f32>,
    pub out_cols: usize,
    pub vocab: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub max_len: usize,
}

/// One picture's cross-attention keys and values, per layer, each (heads, cells, d_head).
pub struct CrossMemory {
    pub per_layer: Vec<(Vec<f32>, Vec<f32>)>,
    pub cells: usize,
}

/// Self-attention keys/values of one sequence, per layer, each (heads, len, d_head): a
/// forced prefix computed by candle in one pass (no layers at all when it is empty).
pub struct PrefixCache {
    pub per_layer: Vec<(Vec<f32>, Vec<f32>)>,
    pub len: usize,
}

/// The live rows' self-attention cache, preallocated, and the step's scratch buffers.
pub struct DecoderState {
    rows: usize,
    max_rows: usize,
    len: usize,
    max_len: usize,
    /// Per layer, (max_rows, heads, max_len, d_head).
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    spare: Vec<f32>,
    x: Vec<f32>,
    h: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    y: Vec<f32>,
    ff: Vec<f32>,
    scores: Vec<f32>,
    logits: Vec<f32>,
}

impl DecoderState {
    /// Room for `max_rows` hypotheses of up to `max_len` positions, starting as one row
    /// holding `prefix`.
    pub fn new(
        net: &DecoderNet,
        max_rows: usize,
        max_len: usize,
        prefix: &PrefixCache,
    ) -> Result<Self> {
        let max_len = max_len.min(net.max_len);
        ensure!(
            prefix.len <= max_len
                && (prefix.len == 0 || prefix.per_layer.len() == net.layers.len()),
            "the prefix cache does not fit the decoder"
        );
        let d = net.d_model;
        let per_layer = max_rows * d * max_len;
        let mut state = Self {
            rows: 1,
            max_rows,
            len: prefix.len,
            max_len,
            keys: vec![vec![0.0; per_layer]; net.layers.len()],
            values: vec![vec![0.0; per_layer]; net.layers.len()],
            spare: vec![0.0; per_layer],
            x: vec![0.0; max_rows * d],
            h: vec![0.0; max_rows * d],
            q: vec![0.0; max_rows * d],
            k: vec![0.0; max_rows * d],
            v: vec![0.0; max_rows * d],
            att: vec![0.0; max_rows * d],
            y: vec![0.0; max_rows * d],
            ff: vec![0.0; max_rows * net.d_ff],
            scores: vec![0.0; max_len],
            logits: vec![0.0; max_rows * net.out_cols],
        };
        let dh = d / net.n_heads;
        for (l, (pk, pv)) in prefix.per_layer.iter().enumerate() {
            for (src, dst) in [(pk, &mut state.keys[l]), (pv, &mut state.values[l])] {
                ensure!(
                    src.len() == net.n_heads * prefix.len * dh,
                    "prefix cache size"
                );
                for head in 0..net.n_heads {
                    let from = head * prefix.len * dh;
                    let to = head * max_len * dh;
                    dst[to..to + prefix.len * dh]
                        .copy_from_slice(&src[from..from + prefix.len * dh]);
                }
            }
        }
        Ok(state)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The rows become copies of the rows `parents` (in order): beams kept or forked.
    pub fn reorder(&mut self, net: &DecoderNet, parents: &[usize]) -> Result<()> {
        ensure!(
            parents.len() <= self.max_rows && parents.iter().all(|&p| p < self.rows),
            "beam reorder out of range"
        );
        let row_size = net.d_model * self.max_len;
        let dh = net.d_model / net.n_heads;
        let filled = self.len * dh;
        for cache in self.keys.iter_mut().chain(self.values.iter_mut()) {
            for (i, &p) in parents.iter().enumerate() {
                for head in 0..net.n_heads {
                    let at = head * self.max_len * dh;
                    self.spare[i * row_size + at..i * row_size + at + filled]
                        .copy_from_slice(&cache[p * row_size + at..p * row_size + at + filled]);
                }
            }
            std::mem::swap(cache, &mut self.spare);
        }
        self.rows = parents.len();
        Ok(())
    }

    /// The next-token logits of every row after `step`, one vector each (vocab long).
    /// Where `allowed[row]` admits few tokens (a grammar mask), only theirs are computed
    /// and the others are -inf, which changes nothing for callers that normalise over the
    /// allowed tokens; the other rows share one product with the output layer.
    pub fn logits(&mut self, net: &DecoderNet, allowed: &[Option<&[bool]>]) -> Vec<Vec<f32>> {
        let (d, vocab, cols) = (net.d_model, net.vocab, net.out_cols);
        // A row's dot products cost about what 1/16 of a shared product does.
        let sparse_limit = vocab / 16;
        let mut out = vec![Vec::new(); self.rows];
        let mut dense = Vec::new();
        for (r, row) in out.iter_mut().enumerate() {
            let ids: Option<Vec<usize>> = allowed.get(r).copied().flatten().and_then(|a| {
                let ids: Vec<usize> = (0..vocab.min(a.len()))
                    .filter(|&t| a[t])
                    .take(sparse_limit + 1)
                    .collect();
                (ids.len() <= sparse_limit).then_some(ids)
            });
            match ids {
                Some(ids) => {
                    let h = &self.h[r * d..(r + 1) * d];
                    *row = vec![f32::NEG_INFINITY; vocab];
                    for t in ids {
                        let e = &net.embed[t * d..(t + 1) * d];
                        row[t] = h.iter().zip(e).map(|(a, b)| a * b).sum();
                    }
                }
                None => dense.push(r),
            }
        }
        if !dense.is_empty() {
            for (i, &r) in dense.iter().enumerate() {
                self.q[i * d..(i + 1) * d].copy_from_slice(&self.h[r * d..(r + 1) * d]);
            }
            matmul(
                Out(&mut self.logits, cols),
                (dense.len(), cols, d),
                Mat(&self.q, d, 1),
                Mat(&net.output, cols, 1),
            );
            for (i, &r) in dense.iter().enumerate() {
                out[r] = self.logits[i * cols..i * cols + vocab].to_vec();
            }
        }
        out
    }

    /// Feeds one token per row (at the next position); `logits` then reads the output.
    pub fn step(&mut self, net: &DecoderNet, memory: &CrossMemory, tokens: &[u32]) -> Result<()> {
        ensure!(tokens.len() == self.rows, "one token per row");
        ensure!(
            self.len < self.max_len,
            "sequence of {} tokens exceeds the decoder's room {}",
            self.len + 1,
            self.max_len
        );
        let (rows, d, pos) = (self.rows, net.d_model, self.len);
        for (r, &t) in tokens.iter().enumerate() {
            ensure!((t as usize) < net.vocab, "token {t} outside the vocabulary");
            let e = &net.embed[t as usize * d..(t as usize + 1) * d];
            let p = &net.position[pos * d..(pos + 1) * d];
            for ((x, e), p) in self.x[r * d..(r + 1) * d].iter_mut().zip(e).zip(p) {
                *x = e + p;
            }
        }
        for (l, w) in net.layers.iter().enumerate() {
            self.self_attention(net, l, w)?;
            self.cross_attention(net, w, &memory.per_layer[l], memory.cells);
            // feed-forward: x += W2 gelu(W1 norm(x))
            norm(&w.ff_norm, &self.x[..rows * d], &mut self.h, d);
            linear(&w.ff_in, &self.h, rows, &mut self.ff);
            for v in &mut self.ff[..rows * net.d_ff] {
                *v = (erf_f32(*v * std::f32::consts::FRAC_1_SQRT_2) + 1.) * 0.5 * *v;
            }
            linear(&w.ff_out, &self.ff, rows, &mut self.y);
            add_into(&mut self.x[..rows * d], &self.y);
        }
        self.len += 1;
        norm(&net.final_norm, &self.x[..rows * d], &mut self.h, d);
        Ok(())
    }

    /// x += attention of each row's new position over its own earlier positions.
    fn self_attention(&mut self, net: &DecoderNet, l: usize, w: &LayerWeights) -> Result<()> {
        let (rows, d, pos, heads) = (self.rows, net.d_model, self.len, net.n_heads);
        let dh = d / heads;
        norm(&w.self_norm, &self.x[..rows * d], &mut self.h, d);
        linear(&w.q, &self.h, rows, &mut self.q);
        linear(&w.k, &self.h, rows, &mut self.k);
        linear(&w.v, &self.h, rows, &mut self.v);
        let scale = (1.0 / (dh as f64).sqrt()) as f32;
        let n = pos + 1;
        for r in 0..rows {
            for head in 0..heads {
                let base = (r * heads + head) * self.max_len * dh;
                let new = r * d + head * dh;
                let at = base + pos * dh;
                self.keys[l][at..at + dh].copy_from_slice(&self.k[new..new + dh]);
                self.values[l][at..at + dh].copy_from_slice(&self.v[new..new + dh]);
                let keys = &self.keys[l][base..base + n * dh];
                let values = &self.values[l][base..base + n * dh];
                let scores = &mut self.scores[..n];
                matmul(
                    Out(scores, n),
                    (1, n, dh),
                    Mat(&self.q[new..], dh, 1),
                    Mat(keys, 1, dh),
                );
                scores.iter_mut().for_each(|s| *s *= scale);
                softmax(scores);
                matmul(
                    Out(&mut self.att[new..], d),
                    (1, dh, n),
                    Mat(scores, n, 1),
                    Mat(values, dh, 1),
                );
            }
        }
        linear(&w.self_out, &self.att, rows, &mut self.y);
        add_into(&mut self.x[..rows * d], &self.y);
        Ok(())
    }

    /// x += attention of every row over the picture's cells.
    fn cross_attention(
        &mut self,
        net: &DecoderNet,
        w: &LayerWeights,
        (keys, values): &(Vec<f32>, Vec<f32>),
        cells: usize,
    ) {
        let (rows, d, heads) = (self.rows, net.d_model, net.n_heads);
        let dh = d / heads;
        norm(&w.cross_norm, &self.x[..rows * d], &mut self.h, d);
        linear(&w.cross_q, &self.h, rows, &mut self.q);
        let scale = (1.0 / (dh as f64).sqrt()) as f32;
        if self.scores.len() < rows * cells {
            self.scores.resize(rows * cells, 0.0);
        }
        for head in 0..heads {
            let k = &keys[head * cells * dh..(head + 1) * cells * dh];
            let v = &values[head * cells * dh..(head + 1) * cells * dh];
            let scores = &mut self.scores[..rows * cells];
            matmul(
                Out(scores, cells),
                (rows, cells, dh),
                Mat(&self.q[head * dh..], d, 1),
                Mat(k, 1, dh),
            );
            for row in scores.chunks_mut(cells) {
                row.iter_mut().for_each(|s| *s *= scale);
                softmax(row);
            }
            matmul(
                Out(&mut self.att[head * dh..], d),
                (rows, dh, cells),
                Mat(scores, cells, 1),
                Mat(v, dh, 1),
            );
        }
        linear(&w.cross_out, &self.att, rows, &mut self.y);
        add_into(&mut self.x[..rows * d], &self.y);
    }
}

/// A matrix view: data, row stride, column stride.
struct Mat<'a>(&'a [f32], usize, usize);
/// A destination: data, row stride (columns are contiguous).
struct Out<'a>(&'a mut [f32], usize);

/// out (m x n) = lhs (m x k) . rhs (k x n), in one single-threaded gemm call.
fn matmul(out: Out, (m, n, k): (usize, usize, usize), lhs: Mat, rhs: Mat) {
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(m > 0 && n > 0 && k > 0);
    assert!(
        last(m, n, out.1, 1) < out.0.len(),
        "matmul: output too small"
    );
    assert!(
        last(m, k, lhs.1, lhs.2) < lhs.0.len(),
        "matmul: lhs too small"
    );
    assert!(
        last(k, n, rhs.1, rhs.2) < rhs.0.len(),
        "matmul: rhs too small"
    );
    // SAFETY: the asserts above keep every index gemm reads or writes inside the slices,
    // and `out` is borrowed mutably, so it overlaps neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.0.as_mut_ptr(),
            1,
            out.1 as isize,
            false,
            lhs.0.as_ptr(),
            lhs.2 as isize,
            lhs.1 as isize,
            rhs.0.as_ptr(),
            rhs.2 as isize,
            rhs.1 as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// out (rows x n_out) = x (rows x n_in) . wt + bias.
fn linear(layer: &Linear, x: &[f32], rows: usize, out: &mut [f32]) {
    let n = layer.n_out;
    matmul(
        Out(out, n),
        (rows, n, layer.n_in),
        Mat(x, layer.n_in, 1),
        Mat(&layer.wt, n, 1),
    );
    if let Some(b) = &layer.bias {
        for row in out[..rows * n].chunks_mut(n) {
            add_into(row, b);
        }
    }
}

fn add_into(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
}

/// Layer norm of each row of `x` (rows of `d`) into `out`, as `network::Norm` computes it.
fn norm(n: &LayerNorm, x: &[f32], out: &mut [f32], d: usize) {
    let inv = (1.0 / d as f64) as f32;
    for (row, out) in x.chunks(d).zip(out.chunks_mut(d)) {
        let mean = row.iter().sum::<f32>() * inv;
        for (o, &v) in out.iter_mut().zip(row) {
            *o = v - mean;
        }
        let var = out.iter().map(|c| c * c).sum::<f32>() * inv;
        let std = (var + 1e-5).sqrt();
        for ((o, w), b) in out.iter_mut().zip(&n.weight).zip(&n.bias) {
            *o = *o / std * w + b;
        }
    }
}

fn softmax(xs: &mut [f32]) {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in xs.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    xs.iter_mut().for_each(|x| *x /= sum);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::network::{CadModel, ModelConfig};
    use candle_core::{DType, Device, Tensor};
    use candle_nn::{VarBuilder, VarMap};

    /// Plain steps over several rows, after a prefix fed by candle and across a beam
    /// reorder, give the teacher-forced logits of the same sequences: for a trainable
    /// model (validation during training) and a frozen one (the shipped model).
    #[test]
    fn plain_steps_match_the_full_forward() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let mut model = CadModel::new(&ModelConfig::tiny(50), vb).unwrap();
        let pic = Tensor::rand(0f32, 1f32, (1, 1, 64, 64), &Device::Cpu).unwrap();
        for frozen in [false, true] {
            if frozen {
                model.freeze().unwrap();
            }
            let want = |seq: &[u32]| -> Vec<f32> {
                let toks = Tensor::from_slice(seq, (1, seq.len()), &Device::Cpu).unwrap();
                let full = model.forward(&pic, &toks).unwrap();
                full.narrow(1, seq.len() - 1, 1)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap()
            };
            let memory = model.encode(&pic).unwrap();
            let mut cache = model.empty_cache();
            let prefix = Tensor::new(&[[1u32, 5, 7]], &Device::Cpu).unwrap();
            model.step(&memory, &prefix, &mut cache).unwrap();
            let net = model.decoder_net().unwrap();
            let plain_memory = memory.plain().unwrap();
            let mut state = DecoderState::new(&net, 3, 10, &cache.plain().unwrap()).unwrap();
            state.reorder(&net, &[0, 0]).unwrap();
            let close = |got: &[f32], seq: &[u32]| {
                let want = want(seq);
                assert_eq!(got.len(), want.len());
                let diff = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(diff < 1e-4, "frozen {frozen}, {seq:?}: off by {diff}");
            };
            state.step(&net, &plain_memory, &[9, 4]).unwrap();
            let logits = state.logits(&net, &[None, None]);
            close(&logits[0], &[1, 5, 7, 9]);
            close(&logits[1], &[1, 5, 7, 4]);
            state.reorder(&net, &[1, 0, 1]).unwrap();
            state.step(&net, &plain_memory, &[3, 8, 2]).unwrap();
            // Row 1 allows 3 tokens (of 50: computed alone), the others all.
            let few: Vec<bool> = (0..50).map(|t| [4, 17, 42].contains(&t)).collect();
            let logits = state.logits(&net, &[None, Some(&few), None]);
            close(&logits[0], &[1, 5, 7, 4, 3]);
            close(&logits[2], &[1, 5, 7, 4, 2]);
            let all = want(&[1, 5, 7, 9, 8]);
            for (t, &l) in logits[1].iter().enumerate() {
                if few[t] {
                    assert!((l - all[t]).abs() < 1e-4, "token {t}: {l} vs {}", all[t]);
                } else {
                    assert_eq!(l, f32::NEG_INFINITY);
                }
            }
        }
    }
}
