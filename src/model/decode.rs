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
    /// The bytes the tokens spell, so that beams spelling the same code can be merged.
    text: Vec<u8>,
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

    fn extended(&self, token: u32, log_p: f32, tokenizer: &CodeTokenizer) -> Result<Self> {
        let mut mask = self.mask.as_ref().map(|m| m.clone_state());
        if let Some(m) = &mut mask {
            m.consume(token)?;
        }
        let mut tokens = self.tokens.clone();
        tokens.push(token);
        Ok(Self {
            tokens,
            text: spelled(&self.text, token, tokenizer),
            log_prob: self.log_prob + log_p,
            mask,
        })
    }
}

/// `text` followed by the bytes of `token` (special tokens spell nothing).
fn spelled(text: &[u8], token: u32, tokenizer: &CodeTokenizer) -> Vec<u8> {
    let mut out = text.to_vec();
    if !tokenizer.is_special(token) {
        out.extend_from_slice(&tokenizer.token_bytes()[token as usize]);
    }
    out
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
        text: Vec::new(),
        log_prob: 0.0,
        mask: grammar.map(|g| g.matcher()),
    };
    let want = options.candidates.max(1);
    let mut found = match options.strategy {
        Strategy::Greedy => beam(model, tokenizer, &memory, start(), 1, 1, max_tokens)?,
        Strategy::Beam { width } => {
            let width = width.max(want);
            beam(model, tokenizer, &memory, start(), width, want, max_tokens)?
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

/// The decoder state of the live hypotheses, one batch row each. The picture's memory
/// stays a single row that every hypothesis attends to (no copy per beam).
struct Rows<'m> {
    memory: &'m Memory,
    cache: KvCache,
    last: Vec<u32>,
}

impl<'m> Rows<'m> {
    fn start(model: &CadModel, memory: &'m Memory, n: usize, bos: u32) -> Self {
        Self {
            memory,
            cache: model.empty_cache(),
            last: vec![bos; n],
        }
    }

    /// Logits (one row per hypothesis) after feeding each hypothesis' last token.
    fn logits(&mut self, model: &CadModel) -> Result<Vec<Vec<f32>>> {
        let input = Tensor::from_slice(&self.last, (self.last.len(), 1), model.device())?;
        Ok(model
            .step(self.memory, &input, &mut self.cache)?
            .to_vec2::<f32>()?)
    }

    /// Keeps the rows `parents` (in order) for the hypotheses `next` that extend them.
    fn keep(&mut self, model: &CadModel, parents: &[u32], next: &[Hypothesis]) -> Result<()> {
        let unchanged = parents.len() == self.last.len()
            && parents.iter().enumerate().all(|(i, &p)| p as usize == i);
        if !unchanged {
            let index = Tensor::from_slice(parents, parents.len(), model.device())?;
            self.cache = self.cache.select(&index)?;
        }
        self.last = next.iter().map(|h| *h.tokens.last().unwrap()).collect();
        Ok(())
    }
}

type Finished = Vec<(Vec<u32>, f32, bool)>;

/// Beam search (width 1 = greedy) until `want` distinct programs have finished. Finished
/// programs leave the beam, so `width` hypotheses stay live; hypotheses spelling the same
/// text (a number as one token or as digits) are merged, keeping the likelier. Returns
/// the finished programs, topped up with the best unfinished ones when fewer than `want`
/// finished within `max_tokens`.
fn beam(
    model: &CadModel,
    tokenizer: &CodeTokenizer,
    memory: &Memory,
    start: Hypothesis,
    width: usize,
    want: usize,
    max_tokens: usize,
) -> Result<Finished> {
    let eos = tokenizer.eos_id();
    let mut live = vec![start];
    let mut rows = Rows::start(model, memory, 1, tokenizer.bos_id());
    let mut finished: Finished = Vec::new();
    let mut finished_texts: HashSet<Vec<u8>> = HashSet::new();
    for _ in 0..max_tokens {
        let logits = rows.logits(model)?;
        // (score, parent, token, log_p) of each hypothesis' best extensions, best first.
        let mut options: Vec<(f32, usize, u32, f32)> = Vec::new();
        for (parent, (h, row)) in live.iter_mut().zip(&logits).enumerate() {
            let lp = h.next_log_probs(row, 1.0)?;
            for i in top_k(&lp, width + 1) {
                options.push((h.log_prob + lp[i], parent, i as u32, lp[i]));
            }
        }
        options.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut next = Vec::new();
        let mut parents = Vec::new();
        let mut texts: HashSet<Vec<u8>> = HashSet::new();
        for (score, parent, token, log_p) in options {
            if next.len() >= width {
                break;
            }
            let h = &live[parent];
            if token == eos {
                if finished_texts.insert(h.text.clone()) {
                    finished.push((h.tokens.clone(), score, true));
                }
                continue;
            }
            let text = spelled(&h.text, token, tokenizer);
            if texts.insert(text) {
                next.push(h.extended(token, log_p, tokenizer)?);
                parents.push(parent as u32);
            }
        }
        if next.is_empty() || finished.len() >= want {
            return Ok(finished);
        }
        rows.keep(model, &parents, &next)?;
        live = next;
    }
    // Out of tokens: the best unfinished hypotheses make up the number.
    let missing = want.saturating_sub(finished.len());
    finished.extend(
        live.into_iter()
            .take(missing)
            .map(|h| (h.tokens, h.log_prob, false)),
    );
    Ok(finished)
}

/// Indices of the `k` largest finite values, largest first.
fn top_k(values: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_finite())
        .collect();
    if idx.len() > k {
        idx.select_nth_unstable_by(k - 1, |&a, &b| values[b].total_cmp(&values[a]));
        idx.truncate(k);
    }
    idx.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    idx
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
    let mut rows = Rows::start(model, memory, live.len(), tokenizer.bos_id());
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
                next.push(h.extended(token, lp[token as usize], tokenizer)?);
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
    fn top_k_picks_the_largest_finite_values_in_order() {
        let v = [0.1f32, f32::NEG_INFINITY, 3.0, 2.0, -1.0, 2.5];
        assert_eq!(top_k(&v, 3), vec![2, 5, 3]);
        assert_eq!(top_k(&v, 10), vec![2, 5, 3, 0, 4]);
    }

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
