//! Decoding: greedy, beam search and sampling (temperature, top-p), each producing up to
//! N distinct candidates with their log-probabilities. With a grammar every step is
//! masked by llguidance; without one (to measure what the mask is worth) any token may come.
//! Decoding starts at the beginning of a program (`propose`) or after a given canonical
//! prefix (`continue_from`, for in-file completion).
//!
//! Candidates are distinct by the code they spell (what a user sees), not by their token
//! ids: the same code may be spelt by several token sequences (a number as one token or
//! as digits; byte-fallback tokens that are not valid UTF-8 on their own all decode to
//! U+FFFD). Beam search keeps searching until `candidates` distinct programs have finished
//! or the token budget is spent.

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::{Context, Result};
use candle_core::Tensor;
use rand::{Rng, SeedableRng};

use super::constraint::{Grammar, TokenMask};
use super::inference::{CrossMemory, DecoderNet, DecoderState, PrefixCache};
use super::network::CadModel;
use super::segment_guard::mask_degenerate_segments;
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
    /// How many tokens to decode at most (after the prefix, if any).
    pub max_tokens: usize,
    pub seed: u64,
}

/// Where a continuation stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// At the end of the program (EOS).
    Program,
    /// After the first newline following the prefix: the rest of the current statement,
    /// or the next statement when the prefix ends with a newline (or at EOS).
    Statement,
}

/// One proposed program.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The whole code: the prefix (if any) and the continuation.
    pub code: String,
    /// What was decoded after the prefix (the whole code when there is no prefix).
    pub continuation: String,
    /// Every token of `code`, the prefix's included. With `Stop::Statement` the last token
    /// may spell more than the statement when it spans its newline.
    pub tokens: Vec<u32>,
    /// Sum of the decoded tokens' log-probabilities (after masking and renormalising).
    pub log_prob: f32,
    /// Ended where it should: with EOS (a program the grammar accepts, when constrained),
    /// or with `Stop::Statement` at the statement's end; false when the budget ran out.
    pub complete: bool,
}

/// A partial program being extended.
struct Hypothesis {
    tokens: Vec<u32>,
    /// The bytes the tokens spell, so that beams showing the same code can be merged.
    text: Vec<u8>,
    log_prob: f32,
    mask: Option<TokenMask>,
}

impl Hypothesis {
    fn fork(&self) -> Self {
        Self {
            tokens: self.tokens.clone(),
            text: self.text.clone(),
            log_prob: self.log_prob,
            mask: self.mask.as_ref().map(|m| m.clone_state()),
        }
    }

    /// Which tokens the grammar allows next, less those that would end a degenerate segment
    /// (None without a grammar).
    fn allowed(&mut self, tokenizer: &CodeTokenizer) -> Result<Option<Vec<bool>>> {
        let mut allowed = self.mask.as_mut().map(|m| m.allowed()).transpose()?;
        if let Some(allowed) = &mut allowed {
            mask_degenerate_segments(&self.text, allowed, tokenizer.token_bytes());
        }
        Ok(allowed)
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
    let decoder = Decoder::new(
        model,
        tokenizer,
        grammar,
        picture,
        "",
        Stop::Program,
        options,
    )?;
    decoder.run(options)
}

/// Candidates continuing the canonical code `prefix` for one picture: the prefix is
/// forced through the network (and the grammar, when given) and N distinct
/// continuations are decoded after it, up to `stop`. A prefix that the tokenizer does
/// not spell back exactly, that the grammar refuses, or that fills the model's context
/// is an error saying so.
pub fn continue_from(
    model: &CadModel,
    tokenizer: &CodeTokenizer,
    grammar: Option<&Grammar>,
    picture: &[f32],
    prefix: &str,
    stop: Stop,
    options: &DecodeOptions,
) -> Result<Vec<Candidate>> {
    let decoder = Decoder::new(model, tokenizer, grammar, picture, prefix, stop, options)?;
    decoder.run(options)
}

/// One decoding run: the picture's memory, the forced prefix and where to stop.
struct Decoder<'a> {
    tokenizer: &'a CodeTokenizer,
    /// The decoder's weights for one-token steps (see `inference`).
    net: Arc<DecoderNet>,
    memory: CrossMemory,
    /// Tokens that never belong to a program: the special ones other than EOS.
    never: Vec<bool>,
    /// The hypothesis after the prefix (its mask advanced past it).
    start: Hypothesis,
    /// The decoder's cache after all prefix tokens but the last, and that last token
    /// (BOS without a prefix): the first step feeds it.
    start_cache: PrefixCache,
    start_token: u32,
    prefix_bytes: usize,
    stop: Stop,
    max_tokens: usize,
}

impl<'a> Decoder<'a> {
    fn new(
        model: &'a CadModel,
        tokenizer: &'a CodeTokenizer,
        grammar: Option<&Grammar>,
        picture: &[f32],
        prefix: &str,
        stop: Stop,
        options: &DecodeOptions,
    ) -> Result<Self> {
        let side = model.config.image_size;
        let pictures = Tensor::from_slice(picture, (1, 1, side, side), model.device())
            .context("the picture does not match the model's input size")?;
        let memory = model.encode(&pictures)?;
        let prefix_tokens = tokenizer.encode(prefix)?;
        anyhow::ensure!(
            tokenizer.decode(&prefix_tokens) == prefix,
            "the prefix does not tokenize back to itself: is it canonical code (`cadquery-lsp format`)?"
        );
        let room = model.config.max_len - 1;
        anyhow::ensure!(
            prefix_tokens.len() < room,
            "the prefix is {} tokens long; the model reads at most {room}: complete a shorter part of the file",
            prefix_tokens.len()
        );
        let mask = match grammar {
            Some(g) => Some(forced_mask(g, tokenizer, &prefix_tokens, prefix)?),
            None => None,
        };
        let mut fed = vec![tokenizer.bos_id()];
        fed.extend_from_slice(&prefix_tokens);
        let start_token = fed.pop().expect("BOS is there");
        let mut start_cache = model.empty_cache();
        if !fed.is_empty() {
            let input = Tensor::from_slice(&fed, (1, fed.len()), model.device())?;
            model.step(&memory, &input, &mut start_cache)?;
        }
        let start_cache = start_cache.plain()?;
        let never = (0..tokenizer.vocab_size() as u32)
            .map(|t| t != tokenizer.eos_id() && tokenizer.is_special(t))
            .collect();
        Ok(Self {
            tokenizer,
            net: model.decoder_net()?,
            memory: memory.plain()?,
            never,
            start: Hypothesis {
                tokens: prefix_tokens,
                text: prefix.as_bytes().to_vec(),
                log_prob: 0.0,
                mask,
            },
            start_cache,
            start_token,
            prefix_bytes: prefix.len(),
            stop,
            max_tokens: options.max_tokens.min(room - fed.len()),
        })
    }

    fn run(&self, options: &DecodeOptions) -> Result<Vec<Candidate>> {
        let want = options.candidates.max(1);
        let mut found = match options.strategy {
            Strategy::Greedy => self.beam(1, 1)?,
            Strategy::Beam { width } => self.beam(width.max(want), want)?,
            Strategy::Sample { temperature, top_p } => {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(options.seed);
                let mut all = Vec::new();
                // A few rounds, since samples may repeat each other.
                for _ in 0..3 {
                    all.extend(self.sample(want, temperature.max(1e-3), top_p, &mut rng)?);
                    if distinct(all.clone()).len() >= want {
                        break;
                    }
                }
                all
            }
        };
        found.sort_by(|a, b| {
            b.complete
                .cmp(&a.complete)
                .then(b.log_prob.total_cmp(&a.log_prob))
        });
        let mut out = distinct(found);
        out.truncate(want);
        Ok(out)
    }

    /// The live rows at the start: `n` copies of the state after the prefix, with room
    /// for `max_rows` rows and the whole token budget.
    fn rows(&self, n: usize, max_rows: usize) -> Result<Rows<'_>> {
        let room = self.start_cache.len + self.max_tokens + 1;
        let mut state = DecoderState::new(&self.net, max_rows.max(n), room, &self.start_cache)?;
        if n > 1 {
            state.reorder(&self.net, &vec![0; n])?;
        }
        Ok(Rows {
            net: &self.net,
            memory: &self.memory,
            state,
            last: vec![self.start_token; n],
        })
    }

    /// Log-probabilities of the next token; disallowed tokens get -inf.
    fn next_log_probs(
        &self,
        allowed: Option<&[bool]>,
        logits: &[f32],
        temperature: f32,
    ) -> Result<Vec<f32>> {
        let ok =
            |i: usize| !self.never[i] && allowed.is_none_or(|a| a.get(i).copied().unwrap_or(false));
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

    /// Whether a hypothesis spelling `text` has reached `stop` (EOS is checked apart).
    fn reached_stop(&self, text: &[u8]) -> bool {
        self.stop == Stop::Statement && text[self.prefix_bytes..].contains(&b'\n')
    }

    fn candidate(&self, tokens: Vec<u32>, log_prob: f32, complete: bool) -> Candidate {
        let full = self.tokenizer.decode(&tokens);
        // The prefix is valid UTF-8 and spelt exactly, so the decoded text starts with it.
        let mut continuation = full[self.prefix_bytes..].to_string();
        if self.stop == Stop::Statement {
            if let Some(end) = continuation.find('\n') {
                continuation.truncate(end + 1);
            }
        }
        Candidate {
            code: format!("{}{continuation}", &full[..self.prefix_bytes]),
            continuation,
            tokens,
            log_prob,
            complete,
        }
    }

    /// Beam search (width 1 = greedy) until `want` distinct programs have finished.
    /// Finished programs leave the beam and the next best extensions take their places,
    /// so `width` hypotheses stay live; live hypotheses showing the same code are merged
    /// (keeping the likelier), and a finished program whose code equals an earlier one
    /// is dropped, so the search goes on until `want` DISTINCT codes are found or the
    /// token budget is spent. Then the best unfinished hypotheses whose code differs
    /// from all others make up the number.
    fn beam(&self, width: usize, want: usize) -> Result<Vec<Candidate>> {
        let eos = self.tokenizer.eos_id();
        let mut live = vec![self.start.fork()];
        let mut rows = self.rows(1, width)?;
        let mut finished = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for _ in 0..self.max_tokens {
            let allowed = live
                .iter_mut()
                .map(|h| h.allowed(self.tokenizer))
                .collect::<Result<Vec<_>>>()?;
            let logits = rows.logits(&allowed)?;
            // (score, parent, token, log_p) of each hypothesis' best extensions.
            let mut options: Vec<(f32, usize, u32, f32)> = Vec::new();
            for (parent, ((h, row), ok)) in live.iter().zip(&logits).zip(&allowed).enumerate() {
                let lp = self.next_log_probs(ok.as_deref(), row, 1.0)?;
                for i in top_k(&lp, width + 1) {
                    options.push((h.log_prob + lp[i], parent, i as u32, lp[i]));
                }
            }
            options.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut next = Vec::new();
            let mut parents = Vec::new();
            // Live hypotheses are merged by the code they show (lossy UTF-8), as finished
            // ones are: bytes that decode alike would only end as duplicate candidates.
            let mut texts: HashSet<String> = HashSet::new();
            for (score, parent, token, log_p) in options {
                if next.len() >= width {
                    break;
                }
                let h = &live[parent];
                let text = spelled(&h.text, token, self.tokenizer);
                if token == eos || self.reached_stop(&text) {
                    let mut tokens = h.tokens.clone();
                    if token != eos {
                        tokens.push(token);
                    }
                    let c = self.candidate(tokens, score, true);
                    if seen.insert(c.code.clone()) {
                        finished.push(c);
                    }
                } else if texts.insert(String::from_utf8_lossy(&text).into_owned()) {
                    next.push(h.extended(token, log_p, self.tokenizer)?);
                    parents.push(parent as u32);
                }
            }
            if next.is_empty() || finished.len() >= want {
                return Ok(finished);
            }
            rows.keep(&parents, &next)?;
            live = next;
        }
        for h in live {
            if finished.len() >= want {
                break;
            }
            let c = self.candidate(h.tokens, h.log_prob, false);
            if seen.insert(c.code.clone()) {
                finished.push(c);
            }
        }
        Ok(finished)
    }

    /// Ancestral sampling of `n` hypotheses in parallel (one batch row each).
    fn sample(
        &self,
        n: usize,
        temperature: f32,
        top_p: f32,
        rng: &mut impl Rng,
    ) -> Result<Vec<Candidate>> {
        let eos = self.tokenizer.eos_id();
        let mut live: Vec<Hypothesis> = (0..n).map(|_| self.start.fork()).collect();
        let mut rows = self.rows(n, n)?;
        let mut finished = Vec::new();
        for _ in 0..self.max_tokens {
            let allowed = live
                .iter_mut()
                .map(|h| h.allowed(self.tokenizer))
                .collect::<Result<Vec<_>>>()?;
            let logits = rows.logits(&allowed)?;
            let mut next = Vec::new();
            let mut kept = Vec::new();
            for (i, ((h, row), ok)) in live.iter().zip(&logits).zip(&allowed).enumerate() {
                // The probability reported is the model's own (temperature 1), masked.
                let lp = self.next_log_probs(ok.as_deref(), row, 1.0)?;
                let tempered = self.next_log_probs(ok.as_deref(), row, temperature)?;
                let token = nucleus(&tempered, top_p, rng);
                let log_prob = h.log_prob + lp[token as usize];
                if token == eos {
                    finished.push(self.candidate(h.tokens.clone(), log_prob, true));
                    continue;
                }
                let h = h.extended(token, lp[token as usize], self.tokenizer)?;
                if self.reached_stop(&h.text) {
                    finished.push(self.candidate(h.tokens, log_prob, true));
                } else {
                    next.push(h);
                    kept.push(i as u32);
                }
            }
            if next.is_empty() {
                return Ok(finished);
            }
            rows.keep(&kept, &next)?;
            live = next;
        }
        finished.extend(
            live.into_iter()
                .map(|h| self.candidate(h.tokens, h.log_prob, false)),
        );
        Ok(finished)
    }
}

/// A matcher advanced over the prefix's tokens, or an error naming where the grammar
/// stopped accepting the prefix.
fn forced_mask(
    grammar: &Grammar,
    tokenizer: &CodeTokenizer,
    tokens: &[u32],
    prefix: &str,
) -> Result<TokenMask> {
    let mut mask = grammar.matcher();
    let mut at = 0;
    for &t in tokens {
        let allowed = mask.allowed()?;
        if !allowed.get(t as usize).copied().unwrap_or(false) || mask.consume(t).is_err() {
            let line = prefix[..at].matches('\n').count() + 1;
            let start = prefix[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = prefix[at..].find('\n').map_or(prefix.len(), |i| at + i);
            anyhow::bail!(
                "the code before the cursor is not canonical code the decoding grammar accepts: \
                 it goes wrong on line {line} at column {} (`{}`); fix or reformat it (`cadquery-lsp format`) first",
                at - start + 1,
                &prefix[start..end]
            );
        }
        at += tokenizer.token_bytes()[t as usize].len();
    }
    Ok(mask)
}

/// Distinct by code, keeping the first of each.
fn distinct(found: Vec<Candidate>) -> Vec<Candidate> {
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter(|c| seen.insert(c.code.clone()))
        .collect()
}

/// The decoder state of the live hypotheses, one row each. The picture's memory stays
/// a single copy that every hypothesis attends to (no copy per beam).
struct Rows<'m> {
    net: &'m DecoderNet,
    memory: &'m CrossMemory,
    state: DecoderState,
    last: Vec<u32>,
}

impl Rows<'_> {
    /// Logits (one row per hypothesis) after feeding each hypothesis' last token; only
    /// the `allowed` tokens' where a hypothesis has a grammar (see `DecoderState::logits`).
    fn logits(&mut self, allowed: &[Option<Vec<bool>>]) -> Result<Vec<Vec<f32>>> {
        self.state.step(self.net, self.memory, &self.last)?;
        let allowed: Vec<Option<&[bool]>> = allowed.iter().map(|a| a.as_deref()).collect();
        Ok(self.state.logits(self.net, &allowed))
    }

    /// Keeps the rows `parents` (in order) for the hypotheses `next` that extend them.
    fn keep(&mut self, parents: &[u32], next: &[Hypothesis]) -> Result<()> {
        let unchanged = parents.len() == self.last.len()
            && parents.iter().enumerate().all(|(i, &p)| p as usize == i);
        if !unchanged {
            let parents: Vec<usize> = parents.iter().map(|&p| p as usize).collect();
            self.state.reorder(self.net, &parents)?;
        }
        self.last = next.iter().map(|h| *h.tokens.last().unwrap()).collect();
        Ok(())
    }
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
