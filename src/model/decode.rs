//! Decoding: greedy, beam search and sampling (temperature, top-p), each producing up to
//! N distinct candidates with their log-probabilities. With a grammar every step is
//! masked by llguidance; without one (to measure what the mask is worth) any token may come.

use std::collections::HashSet;

use anyhow::{Context, Result};
use candle_core::Tensor;
use rand::{Rng, SeedableRng};

use super::constraint::{Grammar, TokenMask};
use super::network::{CadModel, KvCache, Memory};
use super::tokenizer::CodeTokenizer;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    Greedy,
    Beam { width: usize },
    Sample { temperature: f32, top_p: f32 },
}

#[derive(Debug, Clone)]
pub struct DecodeOptions {
    pub strategy: Strategy,
    /// How many distinct candidates to return (at most).
    pub candidates: usize,
    pub max_tokens: usize,
    pub seed: u64,
}

/// One proposed program.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub code: String,
    pub tokens: Vec<u32>,
    /// Sum of the token log-probabilities (after masking and renormalising).
    pub log_prob: f32,
    /// Ended with EOS (a program the grammar accepts, when constrained).
    pub complete: bool,
}

/// A partial program being extended.
struct Hypothesis {
    tokens: Vec<u32>,
    log_prob: f32,
    mask: Option<TokenMask>,
}

impl Hypothesis {
    /// Log-probabilities of the next token; disallowed tokens get -inf.
    fn next_log_probs(&mut self, logits: &[f32], temperature: f32) -> Result<Vec<f32>> {
        let allowed = match &mut self.mask {
            Some(m) => Some(m.allowed()?),
            None => None,
        };
        let ok = |i: usize| {
            allowed
                .as_ref()
                .is_none_or(|a| a.get(i).copied().unwrap_or(false))
        };
        let scaled: Vec<f32> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                if ok(i) {
                    l / temperature
                } else {
                    f32::NEG_INFINITY
                }
            })
            .collect();
        let max = scaled.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        anyhow::ensure!(max.is_finite(), "the grammar allows no next token");
        let log_z = max + scaled.iter().map(|&l| (l - max).exp()).sum::<f32>().ln();
        Ok(scaled.into_iter().map(|l| l - log_z).collect())
    }

    fn extended(&self, token: u32, log_p: f32) -> Result<Self> {
        let mut mask = self.mask.as_ref().map(|m| m.clone_state());
        if let Some(m) = &mut mask {
            m.consume(token)?;
        }
        let mut tokens = self.tokens.clone();
        tokens.push(token);
        Ok(Self {
            tokens,
            log_prob: self.log_prob + log_p,
            mask,
        })
    }
}

/// Proposes candidates for one picture (`side` x `side` grey pixels, see `picture`).
pub fn propose(
    model: &CadModel,
    tokenizer: &CodeTokenizer,
    grammar: Option<&Grammar>,
    picture: &[f32],
    options: &DecodeOptions,
) -> Result<Vec<Candidate>> {
    let side = model.config.image_size;
    let pictures = Tensor::from_slice(picture, (1, 1, side, side), model.device())
        .context("the picture does not match the model's input size")?;
    let memory = model.encode(&pictures)?;
    let max_tokens = options.max_tokens.min(model.config.max_len - 1);
    let start = || Hypothesis {
        tokens: Vec::new(),
        log_prob: 0.0,
        mask: grammar.map(|g| g.matcher()),
    };
    let mut found = match options.strategy {
        Strategy::Greedy => beam(model, tokenizer, &memory, vec![start()], 1, max_tokens)?,
        Strategy::Beam { width } => {
            let width = width.max(options.candidates).max(1);
            beam(model, tokenizer, &memory, vec![start()], width, max_tokens)?
        }
        Strategy::Sample { temperature, top_p } => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(options.seed);
            let mut all = Vec::new();
            // A few rounds, since samples may repeat each other.
            for _ in 0..3 {
                let batch = (0..options.candidates).map(|_| start()).collect();
                all.extend(sample(
                    model,
                    tokenizer,
                    &memory,
                    batch,
                    temperature.max(1e-3),
                    top_p,
                    max_tokens,
                    &mut rng,
                )?);
                if distinct(tokenizer, all.clone()).len() >= options.candidates {
                    break;
                }
            }
            all
        }
    };
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = distinct(tokenizer, found);
    out.sort_by(|a, b| {
        b.complete
            .cmp(&a.complete)
            .then(b.log_prob.total_cmp(&a.log_prob))
    });
    out.truncate(options.candidates.max(1));
    Ok(out)
}

fn distinct(tokenizer: &CodeTokenizer, hyps: Vec<(Vec<u32>, f32, bool)>) -> Vec<Candidate> {
    let mut seen = HashSet::new();
    hyps.into_iter()
        .filter_map(|(tokens, log_prob, complete)| {
            let code = tokenizer.decode(&tokens);
            seen.insert(code.clone()).then_some(Candidate {
                code,
                tokens,
                log_prob,
                complete,
            })
        })
        .collect()
}

/// The decoder state of the live hypotheses, one batch row each.
struct Rows {
    memory: Memory,
    cache: KvCache,
    last: Vec<u32>,
}

impl Rows {
    fn start(model: &CadModel, memory: &Memory, n: usize, bos: u32) -> Result<Self> {
        let zeros = Tensor::zeros(n, candle_core::DType::U32, model.device())?;
        Ok(Self {
            memory: memory.select(&zeros)?,
            cache: model.empty_cache(),
            last: vec![bos; n],
        })
    }

    /// Logits (one row per hypothesis) after feeding each hypothesis' last token.
    fn logits(&mut self, model: &CadModel) -> Result<Vec<Vec<f32>>> {
        let input = Tensor::from_slice(&self.last, (self.last.len(), 1), model.device())?;
        Ok(model
            .step(&self.memory, &input, &mut self.cache)?
            .to_vec2::<f32>()?)
    }

    /// Keeps the rows `parents` (in order) for the hypotheses `next` that extend them.
    fn keep(&mut self, model: &CadModel, parents: &[u32], next: &[Hypothesis]) -> Result<()> {
        let index = Tensor::from_slice(parents, parents.len(), model.device())?;
        self.cache = self.cache.select(&index)?;
        self.memory = self.memory.select(&index)?;
        self.last = next.iter().map(|h| *h.tokens.last().unwrap()).collect();
        Ok(())
    }
}

type Finished = Vec<(Vec<u32>, f32, bool)>;

/// Beam search (width 1 = greedy). Returns finished hypotheses, or the best unfinished
/// ones when none finished within `max_tokens`.
fn beam(
    model: &CadModel,
    tokenizer: &CodeTokenizer,
    memory: &Memory,
    mut live: Vec<Hypothesis>,
    width: usize,
    max_tokens: usize,
) -> Result<Finished> {
    let eos = tokenizer.eos_id();
    let mut rows = Rows::start(model, memory, live.len(), tokenizer.bos_id())?;
    let mut finished: Finished = Vec::new();
    for _ in 0..max_tokens {
        let logits = rows.logits(model)?;
        // (score, parent, token, log_p) of every allowed extension, best first.
        let mut options: Vec<(f32, usize, u32, f32)> = Vec::new();
        for (parent, (h, row)) in live.iter_mut().zip(&logits).enumerate() {
            let lp = h.next_log_probs(row, 1.0)?;
            let mut idx: Vec<usize> = (0..lp.len()).filter(|&i| lp[i].is_finite()).collect();
            idx.sort_by(|&a, &b| lp[b].total_cmp(&lp[a]));
            for &i in idx.iter().take(width) {
                options.push((h.log_prob + lp[i], parent, i as u32, lp[i]));
            }
        }
        options.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut next = Vec::new();
        let mut parents = Vec::new();
        for (score, parent, token, log_p) in options {
            if next.len() + finished.len() >= width {
                break;
            }
            if token == eos {
                finished.push((live[parent].tokens.clone(), score, true));
            } else {
                next.push(live[parent].extended(token, log_p)?);
                parents.push(parent as u32);
            }
        }
        if next.is_empty() || finished.len() >= width {
            return Ok(finished);
        }
        rows.keep(model, &parents, &next)?;
        live = next;
    }
    if finished.is_empty() {
        finished.extend(live.into_iter().map(|h| (h.tokens, h.log_prob, false)));
    }
    Ok(finished)
}

/// Ancestral sampling of every hypothesis in parallel (one batch row each).
#[allow(clippy::too_many_arguments)]
fn sample(
    model: &CadModel,
    tokenizer: &CodeTokenizer,
    memory: &Memory,
    mut live: Vec<Hypothesis>,
    temperature: f32,
    top_p: f32,
    max_tokens: usize,
    rng: &mut impl Rng,
) -> Result<Finished> {
    let eos = tokenizer.eos_id();
    let mut rows = Rows::start(model, memory, live.len(), tokenizer.bos_id())?;
    let mut finished: Finished = Vec::new();
    for _ in 0..max_tokens {
        let logits = rows.logits(model)?;
        let mut next = Vec::new();
        let mut kept = Vec::new();
        for (i, (h, row)) in live.iter_mut().zip(&logits).enumerate() {
            // The probability reported is the model's own (temperature 1), masked.
            let lp = h.next_log_probs(row, 1.0)?;
            let tempered = h.next_log_probs(row, temperature)?;
            let token = nucleus(&tempered, top_p, rng);
            if token == eos {
                finished.push((h.tokens.clone(), h.log_prob + lp[token as usize], true));
            } else {
                next.push(h.extended(token, lp[token as usize])?);
                kept.push(i as u32);
            }
        }
        if next.is_empty() {
            return Ok(finished);
        }
        rows.keep(model, &kept, &next)?;
        live = next;
    }
    finished.extend(live.into_iter().map(|h| (h.tokens, h.log_prob, false)));
    Ok(finished)
}

/// Samples from the smallest set of tokens whose probability reaches `top_p`.
fn nucleus(log_probs: &[f32], top_p: f32, rng: &mut impl Rng) -> u32 {
    let mut idx: Vec<usize> = (0..log_probs.len())
        .filter(|&i| log_probs[i].is_finite())
        .collect();
    idx.sort_by(|&a, &b| log_probs[b].total_cmp(&log_probs[a]));
    let mut kept = Vec::new();
    let mut mass = 0.0;
    for i in idx {
        let p = log_probs[i].exp();
        kept.push((i, p));
        mass += p;
        if mass >= top_p {
            break;
        }
    }
    let mut r = rng.random::<f32>() * mass;
    for &(i, p) in &kept {
        if r < p {
            return i as u32;
        }
        r -= p;
    }
    kept.last().map(|k| k.0 as u32).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nucleus_keeps_only_the_top_mass() {
        let lp: Vec<f32> = [0.7f32, 0.2, 0.1].iter().map(|p| p.ln()).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            assert_eq!(nucleus(&lp, 0.5, &mut rng), 0);
        }
        let picks: HashSet<u32> = (0..200).map(|_| nucleus(&lp, 1.0, &mut rng)).collect();
        assert_eq!(picks.len(), 3);
    }
}
