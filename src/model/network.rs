//! The network: a small CNN image encoder and a pre-LN transformer decoder with
//! cross-attention, in candle. Only differentiable ops are used (candle's fused
//! `LayerNorm` and `softmax_last_dim` pass no gradient): layer norm from mean/variance,
//! softmax from exp/sum. Output logits reuse the token embedding (tied weights).

use std::sync::Arc;

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{Embedding, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::inference;

/// Sizes of the network; saved as `config.json` beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub vocab_size: usize,
    /// Side of the square grey input picture (the 448 px pictures are min-pooled to it).
    pub image_size: usize,
    /// Channels of the patch-merging stages (the first folds 4x4 pixels, the others
    /// 2x2 cells): the memory grid side is image_size / (2 * 2^stages).
    pub encoder_channels: Vec<usize>,
    /// Self-attention layers over the picture grid.
    pub encoder_layers: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub n_layers: usize,
    pub d_ff: usize,
    /// Longest token sequence (BOS included).
    pub max_len: usize,
}

impl ModelConfig {
    /// The size recommended for training on 2 CPU cores (~5M parameters).
    pub fn base(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            image_size: 224,
            encoder_channels: vec![32, 64, 128],
            encoder_layers: 1,
            d_model: 256,
            n_heads: 4,
            n_layers: 4,
            d_ff: 1024,
            max_len: 512,
        }
    }

    /// The size trained on 2 CPU cores: a 128 px picture (min-pooled, so 1-px edges
    /// survive), an 8x8 memory grid, 3 decoder layers of width 192, and sequences cut at
    /// 384 tokens (~96% of generated programs). About 3x fewer FLOPs per token than `base`.
    pub fn small(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            image_size: 128,
            encoder_channels: vec![32, 64, 128],
            encoder_layers: 1,
            d_model: 192,
            n_heads: 4,
            n_layers: 3,
            d_ff: 768,
            max_len: 384,
        }
    }

    /// A very small network for tests.
    pub fn tiny(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            image_size: 64,
            encoder_channels: vec![16, 32],
            encoder_layers: 1,
            d_model: 64,
            n_heads: 2,
            n_layers: 2,
            d_ff: 128,
            max_len: 128,
        }
    }

    pub fn memory_len(&self) -> usize {
        let side = self.image_size / (2 << self.encoder_channels.len());
        side * side
    }
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
}

impl Norm {
    fn new(dim: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(dim, "weight", candle_nn::Init::Const(1.0))?,
            bias: vb.get_with_hints(dim, "bias", candle_nn::Init::Const(0.0))?,
        })
    }

    fn plain(&self) -> Result<inference::LayerNorm> {
        Ok(inference::LayerNorm {
            weight: self.weight.to_vec1()?,
            bias: self.bias.to_vec1()?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centered = x.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        centered
            .broadcast_div(&(var + 1e-5)?.sqrt()?)?
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

/// Patch-merging stages -> a grid of memory vectors for the decoder to attend to.
///
/// Each stage folds 2x2 (the first 4x4) neighbouring cells into one vector and mixes it
/// with a linear layer: a strided convolution without overlap, built from reshapes and
/// matmuls because candle's CPU conv2d backward is ~10x slower than the rest of a step.
/// No pooling before the first stage, so 1-px edges reach the network intact.
struct ImageEncoder {
    stages: Vec<(Dense, Dense)>,
    project: Dense,
    position: Tensor,
    layers: Vec<EncoderLayer>,
    norm: Norm,
}

const FIRST_PATCH: usize = 4;

impl ImageEncoder {
    fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let mut stages = Vec::new();
        let mut c_in = 1;
        for (i, &c) in cfg.encoder_channels.iter().enumerate() {
            let fold = if i == 0 { FIRST_PATCH * FIRST_PATCH } else { 4 };
            let vb = vb.pp(format!("stages.{i}"));
            stages.push((
                linear(c_in * fold, c, vb.pp("merge"))?,
                linear(c, c, vb.pp("mix"))?,
            ));
            c_in = c;
        }
        let layers = (0..cfg.encoder_layers)
            .map(|i| EncoderLayer::new(cfg, vb.pp(format!("layers.{i}"))))
            .collect::<Result<_>>()?;
        Ok(Self {
            stages,
            project: linear(c_in, cfg.d_model, vb.pp("project"))?,
            position: vb.get_with_hints(
                (cfg.memory_len(), cfg.d_model),
                "position",
                candle_nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            )?,
            layers,
            norm: Norm::new(cfg.d_model, vb.pp("norm"))?,
        })
    }

    /// `pictures`: (B, 1, S, S) in [0, 1], white = 1.
    fn forward(&self, pictures: &Tensor) -> Result<Tensor> {
        // Centre on white so that the empty background is zero; channels last.
        let mut x = (pictures - 1.0)?.permute((0, 2, 3, 1))?;
        for (i, (merge, mix)) in self.stages.iter().enumerate() {
            x = fold_cells(&x, if i == 0 { FIRST_PATCH } else { 2 })?;
            x = apply(merge, &x)?.gelu_erf()?;
            x = (&x + apply(mix, &x)?.gelu_erf()?)?;
        }
        let (b, h, w, c) = x.dims4()?;
        let x = x.reshape((b, h * w, c))?;
        let mut x = apply(&self.project, &x)?.broadcast_add(&self.position)?;
        for layer in &self.layers {
            x = layer.forward(&x)?;
        }
        self.norm.forward(&x)
    }
}

/// A linear layer. Training uses candle's `Linear` (its weight is the variable);
/// `freeze` keeps the weight transposed and contiguous instead, which gemm reads in
/// place: with the few rows of a decoding step, gemm repacked the (out, in) weight on
/// every call, which cost about as much as the product itself.
enum Dense {
    Trainable(Linear),
    Frozen { wt: Tensor, bias: Option<Tensor> },
}

impl Dense {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Dense::Trainable(l) => l.forward(x),
            Dense::Frozen { wt, bias } => {
                let y = x.matmul(wt)?;
                match bias {
                    Some(b) => y.broadcast_add(b),
                    None => Ok(y),
                }
            }
        }
    }

    /// The weight as (in, out) row-major and the bias, for `inference`.
    fn plain(&self) -> Result<inference::Linear> {
        let (wt, bias) = match self {
            Dense::Trainable(l) => (l.weight().t()?.contiguous()?, l.bias()),
            Dense::Frozen { wt, bias } => (wt.clone(), bias.as_ref()),
        };
        let (n_in, n_out) = wt.dims2()?;
        Ok(inference::Linear {
            wt: wt.flatten_all()?.to_vec1()?,
            bias: bias.map(|b| b.to_vec1()).transpose()?,
            n_in,
            n_out,
        })
    }

    fn freeze(&mut self) -> Result<()> {
        if let Dense::Trainable(l) = self {
            *self = Dense::Frozen {
                wt: l.weight().t()?.contiguous()?,
                bias: l.bias().cloned(),
            };
        }
        Ok(())
    }
}

fn linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Dense> {
    Ok(Dense::Trainable(candle_nn::linear(in_dim, out_dim, vb)?))
}

/// A linear layer on the last dim as ONE 2-D matmul: candle's Linear on 3-D/4-D inputs
/// broadcasts the weight into a batched matmul, several times slower here.
fn apply(layer: &Dense, x: &Tensor) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let last = dims[dims.len() - 1];
    let rows = x.elem_count() / last;
    let y = layer.forward(&x.reshape((rows, last))?)?;
    let mut out = dims;
    *out.last_mut().unwrap() = y.dim(1)?;
    y.reshape(out)
}

/// (B, H, W, C) -> (B, H/f, W/f, f*f*C): each f x f block of cells becomes one vector.
fn fold_cells(x: &Tensor, f: usize) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    x.reshape((b * h / f, f, w / f, f * c))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((b, h / f, w / f, f * f * c))
}

/// The residual feed-forward block of every transformer layer: x + W2 gelu(W1 norm(x)).
struct FeedForward {
    norm: Norm,
    inner: Dense,
    outer: Dense,
}

impl FeedForward {
    fn freeze(&mut self) -> Result<()> {
        self.inner.freeze()?;
        self.outer.freeze()
    }

    fn new(cfg: &ModelConfig, vb: &VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: Norm::new(cfg.d_model, vb.pp("ff_norm"))?,
            inner: linear(cfg.d_model, cfg.d_ff, vb.pp("ff_in"))?,
            outer: linear(cfg.d_ff, cfg.d_model, vb.pp("ff_out"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.norm.forward(x)?;
        x + apply(&self.outer, &apply(&self.inner, &h)?.gelu_erf()?)?
    }
}

/// Self-attention over the picture grid, so each cell sees the whole part.
struct EncoderLayer {
    norm: Norm,
    attn: Attention,
    ff: FeedForward,
}

impl EncoderLayer {
    fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: Norm::new(cfg.d_model, vb.pp("norm"))?,
            attn: Attention::new(cfg, vb.pp("attn"))?,
            ff: FeedForward::new(cfg, &vb)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.norm.forward(x)?;
        let (k, v) = self.attn.keys_values(&h)?;
        let x = (x + self.attn.attend(&h, &k, &v, None)?)?;
        self.ff.forward(&x)
    }
}

struct Attention {
    q: Dense,
    k: Dense,
    v: Dense,
    out: Dense,
    n_heads: usize,
}

impl Attention {
    fn freeze(&mut self) -> Result<()> {
        for layer in [&mut self.q, &mut self.k, &mut self.v, &mut self.out] {
            layer.freeze()?;
        }
        Ok(())
    }

    fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(Self {
            q: linear(d, d, vb.pp("q"))?,
            k: linear(d, d, vb.pp("k"))?,
            v: linear(d, d, vb.pp("v"))?,
            out: linear(d, d, vb.pp("out"))?,
            n_heads: cfg.n_heads,
        })
    }

    /// (B, T, d) -> (B, H, T, d/H)
    fn heads(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        x.reshape((b, t, self.n_heads, d / self.n_heads))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn keys_values(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((
            self.heads(&apply(&self.k, x)?)?,
            self.heads(&apply(&self.v, x)?)?,
        ))
    }

    fn attend(&self, x: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let q = self.heads(&apply(&self.q, x)?)?;
        let scale = 1.0 / ((d / self.n_heads) as f64).sqrt();
        if k.dim(0)? == 1 && b > 1 && mask.is_none() {
            return self.attend_shared(&q, k, v, scale, (b, t, d));
        }
        let mut scores = (q.matmul(&k.t()?)? * scale)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let y = weights.matmul(v)?.transpose(1, 2)?.reshape((b, t, d))?;
        apply(&self.out, &y)
    }
}

impl Attention {
    /// Every row of `q` (B, H, T, dh) attends to the same single-row keys/values (one
    /// picture's memory shared by all beams): the rows are stacked as extra queries of
    /// that one row, so the memory is never copied per beam.
    fn attend_shared(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        scale: f64,
        (b, t, d): (usize, usize, usize),
    ) -> Result<Tensor> {
        let h = self.n_heads;
        let q = q
            .transpose(0, 1)?
            .contiguous()?
            .reshape((1, h, b * t, d / h))?;
        let scores = (q.matmul(&k.t()?)? * scale)?;
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let y = weights
            .matmul(v)?
            .reshape((h, b, t, d / h))?
            .permute((1, 2, 0, 3))?
            .reshape((b, t, d))?;
        apply(&self.out, &y)
    }
}

struct DecoderLayer {
    self_norm: Norm,
    self_attn: Attention,
    cross_norm: Norm,
    cross_attn: Attention,
    ff: FeedForward,
}

impl DecoderLayer {
    fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            self_norm: Norm::new(cfg.d_model, vb.pp("self_norm"))?,
            self_attn: Attention::new(cfg, vb.pp("self_attn"))?,
            cross_norm: Norm::new(cfg.d_model, vb.pp("cross_norm"))?,
            cross_attn: Attention::new(cfg, vb.pp("cross_attn"))?,
            ff: FeedForward::new(cfg, &vb)?,
        })
    }

    /// `past`: this layer's self-attention keys/values of earlier positions (decoding).
    fn forward(
        &self,
        x: &Tensor,
        memory: &(Tensor, Tensor),
        past: Option<&(Tensor, Tensor)>,
        mask: Option<&Tensor>,
    ) -> Result<(Tensor, (Tensor, Tensor))> {
        let h = self.self_norm.forward(x)?;
        let (mut k, mut v) = self.self_attn.keys_values(&h)?;
        if let Some((pk, pv)) = past {
            k = Tensor::cat(&[pk, &k], 2)?;
            v = Tensor::cat(&[pv, &v], 2)?;
        }
        let x = (x + self.self_attn.attend(&h, &k, &v, mask)?)?;
        let h = self.cross_norm.forward(&x)?;
        let x = (&x + self.cross_attn.attend(&h, &memory.0, &memory.1, None)?)?;
        Ok((self.ff.forward(&x)?, (k, v)))
    }
}

/// The picture's encoding, projected once into every layer's cross-attention keys/values.
pub struct Memory {
    per_layer: Vec<(Tensor, Tensor)>,
}

impl Memory {
    /// The keys/values of a single picture as plain buffers, for `inference`.
    pub fn plain(&self) -> Result<inference::CrossMemory> {
        let pairs = plain_pairs(&self.per_layer)?;
        let cells = match self.per_layer.first() {
            Some((k, _)) => k.dim(2)?,
            None => 0,
        };
        Ok(inference::CrossMemory {
            per_layer: pairs,
            cells,
        })
    }

    /// Keeps the rows `index` (beam reordering / expanding one picture to N candidates).
    pub fn select(&self, index: &Tensor) -> Result<Self> {
        Ok(Self {
            per_layer: select_pairs(&self.per_layer, index)?,
        })
    }
}

/// Self-attention keys/values of the positions decoded so far.
pub struct KvCache {
    per_layer: Vec<(Tensor, Tensor)>,
    pub len: usize,
}

impl KvCache {
    /// The cache of a single sequence as plain buffers, for `inference`.
    pub fn plain(&self) -> Result<inference::PrefixCache> {
        Ok(inference::PrefixCache {
            per_layer: plain_pairs(&self.per_layer)?,
            len: self.len,
        })
    }

    pub fn select(&self, index: &Tensor) -> Result<Self> {
        Ok(Self {
            per_layer: select_pairs(&self.per_layer, index)?,
            len: self.len,
        })
    }
}

/// (1, H, T, dh) keys/values as flat (H, T, dh) buffers.
fn plain_pairs(pairs: &[(Tensor, Tensor)]) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
    pairs
        .iter()
        .map(|(k, v)| {
            if k.dim(0)? != 1 {
                candle_core::bail!("plain buffers hold one sequence, not {}", k.dim(0)?);
            }
            Ok((k.flatten_all()?.to_vec1()?, v.flatten_all()?.to_vec1()?))
        })
        .collect()
}

fn select_pairs(pairs: &[(Tensor, Tensor)], index: &Tensor) -> Result<Vec<(Tensor, Tensor)>> {
    pairs
        .iter()
        .map(|(k, v)| Ok((k.index_select(index, 0)?, v.index_select(index, 0)?)))
        .collect()
}

pub struct CadModel {
    pub config: ModelConfig,
    encoder: ImageEncoder,
    embed: Embedding,
    position: Tensor,
    layers: Vec<DecoderLayer>,
    final_norm: Norm,
    /// After `freeze`: the output layer (the embedding transposed), contiguous and
    /// padded to a multiple of 16 columns, so that gemm need not repack it per step.
    frozen_output: Option<Tensor>,
    /// After `freeze`: the decoder's weights as plain buffers (see `inference`).
    frozen_net: Option<Arc<inference::DecoderNet>>,
    device: Device,
}

/// Columns of the frozen output layer are a multiple of this (gemm's SIMD width).
const OUTPUT_PAD: usize = 16;

impl CadModel {
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let layers = (0..cfg.n_layers)
            .map(|i| DecoderLayer::new(cfg, vb.pp(format!("decoder.layers.{i}"))))
            .collect::<Result<_>>()?;
        Ok(Self {
            config: cfg.clone(),
            encoder: ImageEncoder::new(cfg, vb.pp("encoder"))?,
            embed: tied_embedding(cfg, vb.pp("decoder.embed"))?,
            position: vb.get_with_hints(
                (cfg.max_len, cfg.d_model),
                "decoder.position",
                candle_nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            )?,
            layers,
            final_norm: Norm::new(cfg.d_model, vb.pp("decoder.final_norm"))?,
            frozen_output: None,
            frozen_net: None,
            device: vb.device().clone(),
        })
    }

    /// Lays the weights out for fast inference (see `Dense`); the model can no longer be
    /// trained (gradients would not reach the variables). Outputs are unchanged.
    pub fn freeze(&mut self) -> Result<()> {
        let enc = &mut self.encoder;
        for (merge, mix) in &mut enc.stages {
            merge.freeze()?;
            mix.freeze()?;
        }
        enc.project.freeze()?;
        for layer in &mut enc.layers {
            layer.attn.freeze()?;
            layer.ff.freeze()?;
        }
        for layer in &mut self.layers {
            layer.self_attn.freeze()?;
            layer.cross_attn.freeze()?;
            layer.ff.freeze()?;
        }
        let e = self.embed.embeddings();
        let (v, d) = e.dims2()?;
        let padded = v.div_ceil(OUTPUT_PAD) * OUTPUT_PAD;
        let pad = Tensor::zeros((padded - v, d), e.dtype(), e.device())?;
        self.frozen_output = Some(Tensor::cat(&[e, &pad], 0)?.t()?.contiguous()?);
        self.frozen_net = Some(Arc::new(self.plain_decoder()?));
        Ok(())
    }

    /// The decoder's weights as plain buffers for the one-token steps of decoding: made
    /// once by `freeze`, or afresh from a trainable model (validation during training).
    pub fn decoder_net(&self) -> Result<Arc<inference::DecoderNet>> {
        match &self.frozen_net {
            Some(net) => Ok(net.clone()),
            None => Ok(Arc::new(self.plain_decoder()?)),
        }
    }

    fn plain_decoder(&self) -> Result<inference::DecoderNet> {
        let cfg = &self.config;
        let layers = self
            .layers
            .iter()
            .map(|l| {
                Ok(inference::LayerWeights {
                    self_norm: l.self_norm.plain()?,
                    q: l.self_attn.q.plain()?,
                    k: l.self_attn.k.plain()?,
                    v: l.self_attn.v.plain()?,
                    self_out: l.self_attn.out.plain()?,
                    cross_norm: l.cross_norm.plain()?,
                    cross_q: l.cross_attn.q.plain()?,
                    cross_out: l.cross_attn.out.plain()?,
                    ff_norm: l.ff.norm.plain()?,
                    ff_in: l.ff.inner.plain()?,
                    ff_out: l.ff.outer.plain()?,
                })
            })
            .collect::<Result<_>>()?;
        let output = match &self.frozen_output {
            Some(out) => out.clone(),
            None => self.embed.embeddings().t()?.contiguous()?,
        };
        Ok(inference::DecoderNet {
            layers,
            final_norm: self.final_norm.plain()?,
            embed: self.embed.embeddings().flatten_all()?.to_vec1()?,
            position: self.position.flatten_all()?.to_vec1()?,
            out_cols: output.dim(1)?,
            output: output.flatten_all()?.to_vec1()?,
            vocab: cfg.vocab_size,
            d_model: cfg.d_model,
            n_heads: cfg.n_heads,
            d_ff: cfg.d_ff,
            max_len: cfg.max_len,
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn encode(&self, pictures: &Tensor) -> Result<Memory> {
        let enc = self.encoder.forward(pictures)?;
        let per_layer = self
            .layers
            .iter()
            .map(|l| l.cross_attn.keys_values(&enc))
            .collect::<Result<_>>()?;
        Ok(Memory { per_layer })
    }

    fn embed_at(&self, tokens: &Tensor, start: usize) -> Result<Tensor> {
        let t = tokens.dim(1)?;
        if start + t > self.config.max_len {
            candle_core::bail!(
                "sequence of {} tokens exceeds the model's max_len {}",
                start + t,
                self.config.max_len
            );
        }
        self.embed
            .forward(tokens)?
            .broadcast_add(&self.position.narrow(0, start, t)?)
    }

    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.final_norm.forward(x)?;
        let (b, t, d) = x.dims3()?;
        let x = x.reshape((b * t, d))?;
        let logits = match &self.frozen_output {
            Some(out) => x.matmul(out)?.narrow(1, 0, self.config.vocab_size)?,
            None => x.matmul(&self.embed.embeddings().t()?)?,
        };
        logits.reshape((b, t, ()))
    }

    /// Teacher-forced logits (B, T, V) for `tokens` (B, T) given the pictures.
    pub fn forward(&self, pictures: &Tensor, tokens: &Tensor) -> Result<Tensor> {
        let memory = self.encode(pictures)?;
        let t = tokens.dim(1)?;
        let mask = causal_mask(t, 0, &self.device)?;
        let mut x = self.embed_at(tokens, 0)?;
        for (layer, mem) in self.layers.iter().zip(&memory.per_layer) {
            x = layer.forward(&x, mem, None, Some(&mask))?.0;
        }
        self.logits(&x)
    }

    pub fn empty_cache(&self) -> KvCache {
        KvCache {
            per_layer: Vec::new(),
            len: 0,
        }
    }

    /// Logits (B, V) of the next token after feeding `tokens` (B, T), updating `cache`.
    /// T > 1 feeds a forced prefix in one pass (causally masked).
    pub fn step(&self, memory: &Memory, tokens: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let t = tokens.dim(1)?;
        let mask = match t {
            1 => None,
            _ => Some(causal_mask(t, cache.len, &self.device)?),
        };
        let mut x = self.embed_at(tokens, cache.len)?;
        let mut updated = Vec::with_capacity(self.layers.len());
        for (i, (layer, mem)) in self.layers.iter().zip(&memory.per_layer).enumerate() {
            let (y, kv) = layer.forward(&x, mem, cache.per_layer.get(i), mask.as_ref())?;
            x = y;
            updated.push(kv);
        }
        cache.per_layer = updated;
        cache.len += t;
        self.logits(&x.narrow(1, t - 1, 1)?)?.squeeze(1)
    }
}

/// The token embedding, also the output layer (tied). Initialised small (std 0.02, as
/// GPT-2): candle's default N(0, 1) makes the first logits ~sqrt(d_model) large, the
/// initial loss ~55 instead of ln(vocab), and drowns the position embedding.
fn tied_embedding(cfg: &ModelConfig, vb: VarBuilder) -> Result<Embedding> {
    let weight = vb.get_with_hints(
        (cfg.vocab_size, cfg.d_model),
        "weight",
        candle_nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        },
    )?;
    Ok(Embedding::new(weight, cfg.d_model))
}

/// (t, past + t): query i (at position past + i) sees keys 0..=past + i.
fn causal_mask(t: usize, past: usize, device: &Device) -> Result<Tensor> {
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| {
            (0..past + t).map(move |j| if j > past + i { f32::NEG_INFINITY } else { 0.0 })
        })
        .collect();
    Tensor::from_vec(mask, (t, past + t), device)
}

/// Trainable parameters in a var map.
pub fn parameter_count(varmap: &candle_nn::VarMap) -> usize {
    varmap.all_vars().iter().map(|v| v.elem_count()).sum()
}

/// Cross-entropy over non-pad positions; `logits` (B, T, V), `targets` (B, T).
pub fn sequence_loss(logits: &Tensor, targets: &Tensor, pad: u32) -> Result<(Tensor, Tensor)> {
    let (b, t, v) = logits.dims3()?;
    let logp = candle_nn::ops::log_softmax(&logits.reshape((b * t, v))?, D::Minus1)?;
    let flat = targets.reshape(b * t)?;
    let picked = logp.gather(&flat.unsqueeze(1)?, 1)?.squeeze(1)?;
    let keep = flat.ne(pad)?.to_dtype(DType::F32)?;
    let n = keep.sum_all()?;
    let loss = ((picked * &keep)?.sum_all()?.neg()? / n.clamp(1.0, f64::MAX)?)?;
    Ok((loss, keep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::VarMap;

    fn tiny() -> (VarMap, CadModel) {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let model = CadModel::new(&ModelConfig::tiny(50), vb).unwrap();
        (varmap, model)
    }

    fn inputs() -> (Tensor, Tensor) {
        let pics = Tensor::rand(0f32, 1f32, (2, 1, 64, 64), &Device::Cpu).unwrap();
        let toks = Tensor::new(&[[1u32, 5, 7, 9, 2], [1, 8, 8, 3, 0]], &Device::Cpu).unwrap();
        (pics, toks)
    }

    #[test]
    fn every_trainable_variable_gets_a_gradient() {
        let (varmap, model) = tiny();
        let (pics, toks) = inputs();
        let logits = model.forward(&pics, &toks).unwrap();
        let (loss, _) = sequence_loss(&logits, &toks, 0).unwrap();
        let grads = loss.backward().unwrap();
        let data = varmap.data().lock().unwrap();
        assert!(data.len() > 20);
        for (name, var) in data.iter() {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("no gradient for {name}"));
            let norm = g
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(norm > 0.0, "zero gradient for {name}");
        }
    }

    #[test]
    fn an_untrained_model_starts_near_uniform() {
        let (_, model) = tiny();
        let (pics, toks) = inputs();
        let logits = model.forward(&pics, &toks).unwrap();
        let (loss, _) = sequence_loss(&logits, &toks, 0).unwrap();
        let loss = loss.to_scalar::<f32>().unwrap();
        assert!((loss - (50f32).ln()).abs() < 0.5, "initial loss {loss}");
    }

    #[test]
    fn fold_cells_gathers_each_block() {
        // 4x4 picture of values 0..16, folded 2x2: the top-left block is 0, 1, 4, 5.
        let x = Tensor::arange(0f32, 16., &Device::Cpu)
            .unwrap()
            .reshape((1, 4, 4, 1))
            .unwrap();
        let y = fold_cells(&x, 2).unwrap();
        assert_eq!(y.dims(), &[1, 2, 2, 4]);
        let v = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(&v[..8], &[0., 1., 4., 5., 2., 3., 6., 7.]);
    }

    #[test]
    fn cached_steps_match_the_full_forward() {
        let (_, model) = tiny();
        let (pics, toks) = inputs();
        let full = model.forward(&pics, &toks).unwrap();
        let memory = model.encode(&pics).unwrap();
        let mut cache = model.empty_cache();
        for i in 0..5 {
            let step = model
                .step(&memory, &toks.narrow(1, i, 1).unwrap(), &mut cache)
                .unwrap();
            let want = full.narrow(1, i, 1).unwrap().squeeze(1).unwrap();
            let diff = (step - want).unwrap().abs().unwrap().max_all().unwrap();
            assert!(diff.to_scalar::<f32>().unwrap() < 1e-4);
        }
    }

    /// A forced prefix fed in one pass, then single steps, gives the full forward's logits.
    #[test]
    fn a_prefix_fed_at_once_then_steps_match_the_full_forward() {
        let (_, model) = tiny();
        let (pics, toks) = inputs();
        let full = model.forward(&pics, &toks).unwrap();
        let memory = model.encode(&pics).unwrap();
        let mut cache = model.empty_cache();
        let first = model
            .step(&memory, &toks.narrow(1, 0, 3).unwrap(), &mut cache)
            .unwrap();
        let mut got = vec![first];
        for i in 3..5 {
            got.push(
                model
                    .step(&memory, &toks.narrow(1, i, 1).unwrap(), &mut cache)
                    .unwrap(),
            );
        }
        for (step, i) in got.into_iter().zip([2, 3, 4]) {
            let want = full.narrow(1, i, 1).unwrap().squeeze(1).unwrap();
            let diff = (step - want).unwrap().abs().unwrap().max_all().unwrap();
            assert!(diff.to_scalar::<f32>().unwrap() < 1e-4, "position {i}");
        }
    }

    /// Freezing changes the weights' layout only: teacher-forced and cached-step logits
    /// stay the same (vocabulary 50, padded to 64 in the frozen output layer).
    #[test]
    fn a_frozen_model_computes_the_same_logits() {
        let (varmap, model) = tiny();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let mut frozen = CadModel::new(&ModelConfig::tiny(50), vb).unwrap();
        frozen.freeze().unwrap();
        let (pics, toks) = inputs();
        let max_diff = |a: Tensor, b: Tensor| {
            assert_eq!(a.dims(), b.dims());
            let d = (a - b).unwrap().abs().unwrap().max_all().unwrap();
            d.to_scalar::<f32>().unwrap()
        };
        let a = model.forward(&pics, &toks).unwrap();
        let b = frozen.forward(&pics, &toks).unwrap();
        assert!(max_diff(a, b) < 1e-5);
        let first = toks.narrow(1, 0, 1).unwrap();
        let first_step = |m: &CadModel| {
            m.step(&m.encode(&pics).unwrap(), &first, &mut m.empty_cache())
                .unwrap()
        };
        assert!(max_diff(first_step(&model), first_step(&frozen)) < 1e-5);
    }

    #[test]
    fn beams_sharing_one_memory_row_match_copied_memory() {
        let (_, model) = tiny();
        let (pics, _) = inputs();
        let one = model.encode(&pics.narrow(0, 0, 1).unwrap()).unwrap();
        let copies = one
            .select(&Tensor::new(&[0u32, 0, 0], &Device::Cpu).unwrap())
            .unwrap();
        let toks = Tensor::new(&[[1u32], [5], [7]], &Device::Cpu).unwrap();
        let a = model.step(&one, &toks, &mut model.empty_cache()).unwrap();
        let b = model
            .step(&copies, &toks, &mut model.empty_cache())
            .unwrap();
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
    }

    #[test]
    fn weights_round_trip_through_safetensors() {
        let (varmap, model) = tiny();
        let (pics, toks) = inputs();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        varmap.save(&path).unwrap();
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(&[&path], DType::F32, &Device::Cpu).unwrap()
        };
        let loaded = CadModel::new(&model.config, vb).unwrap();
        let a = model.forward(&pics, &toks).unwrap();
        let b = loaded.forward(&pics, &toks).unwrap();
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
    }
}
