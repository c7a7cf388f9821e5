//! The generation pipeline: picture -> proposals (every source) -> execute all in the
//! worker pool (invalid ones dropped) -> native render and score against the picture ->
//! refine the best few (checked again with CadQuery) -> rerank -> suggestions.

use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::holes::hole_variants;
use super::native::{self, Scene};
use super::picture::Picture;
use super::proposals::{Proposal, ProposalSource};
use super::refine::{self, RefineBudget};
use super::score::Agreement;
use super::side_by_side::CombinedProgress;
use super::variants::variants;
use crate::data::Program;
use crate::progress::{CancellationToken, ProgressEvent, ProgressSink};
use crate::runtime::{ExecRequest, Job, JobOutput, SolidFacts, WorkerPool};

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// How many suggestions to return.
    pub suggestions: usize,
    /// Proposals asked of each source.
    pub per_source: usize,
    /// Try structural variants (hollow, drop a hole, drill one the picture shows, flip an
    /// extrusion) of this many of the best candidates (0: none).
    pub variants_of: usize,
    /// Refine this many of the best candidates (0: no refinement).
    pub refine_top: usize,
    /// Look at this many of the best candidates with a short coarse refinement first,
    /// and give the full one to the `refine_top` that got furthest.
    pub screen_top: usize,
    /// Native evaluations of each coarse look.
    pub screen_evaluations: usize,
    /// Native evaluations per refined candidate (deterministic for a seed).
    pub refine_evaluations: usize,
    /// Wall-clock limit of each refinement (they run side by side); a safety net that
    /// makes a run depend on the machine's load when it bites.
    pub refine_time: Duration,
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            suggestions: 5,
            per_source: 16,
            variants_of: 3,
            refine_top: 2,
            screen_top: 6,
            screen_evaluations: 200,
            refine_evaluations: 900,
            refine_time: Duration::from_secs(20),
            seed: 0,
        }
    }
}

/// Where a suggestion came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Provenance {
    pub source: String,
    pub refined: bool,
    /// Native evaluations spent refining it.
    pub evaluations: usize,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SuggestionScores {
    /// Native render vs the input picture.
    pub agreement: Agreement,
    pub log_prob: Option<f64>,
    /// Number of numeric literals (fewer is simpler).
    pub literals: usize,
    /// What the ranking sorts by.
    pub rank: f64,
}

/// A suggestion: executed by CadQuery to a valid solid, scored against the picture.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub code: String,
    pub program: Program,
    pub scores: SuggestionScores,
    pub facts: SolidFacts,
    /// The native render in the picture convention, 448x448.
    pub render: image::RgbImage,
    pub provenance: Provenance,
}

/// Counts and times of one run, for benchmarks and the CLI.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GenerateStats {
    pub proposals: usize,
    pub executions: usize,
    pub valid: usize,
    pub refine_evaluations: usize,
    /// Refinements the time limit stopped early (their result depends on the load).
    pub refine_cut_short: usize,
    pub seconds_propose: f64,
    pub seconds_execute: f64,
    pub seconds_score: f64,
    pub seconds_refine: f64,
    /// What each earlier stage alone would have answered (for the stage-lift table).
    pub stages: StagePicks,
}

/// The answer of the pipeline cut short after each stage.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StagePicks {
    /// The first proposal of the first source, unexecuted.
    pub proposal: Option<String>,
    /// The first proposal (in source order) that built a valid solid.
    pub filtered: Option<String>,
    /// The best by picture agreement before refinement.
    pub reranked: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cancelled")]
    Cancelled,
    #[error("the CadQuery workers failed: {0}")]
    Runtime(String),
    #[error("no proposal built a valid solid ({0} tried): the picture may not show a part")]
    NothingValid(usize),
}

struct Candidate {
    program: Program,
    source: String,
    log_prob: Option<f64>,
    facts: SolidFacts,
    agreement: Agreement,
    refined: bool,
    evaluations: usize,
}

/// Runs `code` in the pool; the facts when it builds one valid solid.
fn execute(
    pool: &WorkerPool,
    code: &str,
    cancel: &CancellationToken,
) -> Result<Option<SolidFacts>, GenerateError> {
    let job = Job::Execute(ExecRequest {
        untrusted: true,
        ..ExecRequest::facts(code)
    });
    match pool.execute(job, cancel) {
        Ok(JobOutput::Executed(Ok(built))) => Ok((built.facts.valid
            && built.facts.solids >= 1
            && built.facts.volume > 0.0)
            .then_some(built.facts)),
        Ok(_) => Ok(None),
        Err(crate::runtime::RuntimeError::Cancelled) => Err(GenerateError::Cancelled),
        Err(e) => Err(GenerateError::Runtime(e.to_string())),
    }
}

/// Executes many programs at once (the pool runs them on its workers).
fn execute_all(
    pool: &WorkerPool,
    codes: &[String],
    cancel: &CancellationToken,
) -> Result<Vec<Option<SolidFacts>>, GenerateError> {
    std::thread::scope(|s| {
        let handles: Vec<_> = codes
            .iter()
            .map(|c| s.spawn(move || execute(pool, c, cancel)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("execution thread panicked"))
            .collect()
    })
}

/// How much better a structural variant must match than its parent: a wall of 95 % or a
/// small hole changes the native render by about 0.001, which is noise (measured on the
/// dev pictures: 00765253 gained 0.001 from a wrong 95 % wall, 00141107 0.013 from a
/// right 88 % one).
const VARIANT_MARGIN: f64 = 0.008;

/// Variants of `parents` that agree with the picture better than their parent, best
/// first, at most two per parent (source, program, agreement).
fn better_variants(parents: &[Candidate], picture: &Picture) -> Vec<(String, Program, Agreement)> {
    let mut out = Vec::new();
    for parent in parents {
        let mut better: Vec<(String, Program, Agreement)> = variants(&parent.program)
            .into_iter()
            .chain(hole_variants(&parent.program, picture))
            .filter(|(_, p)| !parents.iter().any(|q| &q.program == p))
            .filter_map(|(name, p)| {
                let a = refine::agreement(&p, picture)?;
                (a.total > parent.agreement.total + VARIANT_MARGIN)
                    .then(|| (format!("{}+{name}", parent.source), p, a))
            })
            .collect();
        better.sort_by(|a, b| b.2.total.total_cmp(&a.2.total));
        out.extend(better.into_iter().take(2));
    }
    out
}

fn rank(agreement: &Agreement, log_prob: Option<f64>, literals: usize) -> f64 {
    // picture agreement dominates; the model's confidence and simplicity break near-ties
    agreement.total + 0.01 * log_prob.unwrap_or(0.0).max(-10.0) - 0.0005 * literals as f64
}

pub fn generate(
    picture: &Picture,
    sources: &[&dyn ProposalSource],
    pool: &WorkerPool,
    opts: &GenerateOptions,
    progress: &dyn ProgressSink,
    cancel: &CancellationToken,
) -> Result<(Vec<Suggestion>, GenerateStats), GenerateError> {
    let mut stats = GenerateStats::default();
    let check = || {
        if cancel.is_cancelled() {
            Err(GenerateError::Cancelled)
        } else {
            Ok(())
        }
    };
    // 1. proposals
    let t = Instant::now();
    progress.report(ProgressEvent::new("propose", 0, Some(sources.len() as u64)));
    let mut proposals: Vec<Proposal> = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        check()?;
        for p in s.propose(picture, opts.per_source) {
            if !proposals.iter().any(|q| q.program == p.program) {
                proposals.push(p);
            }
        }
        progress.report(ProgressEvent::new(
            "propose",
            i as u64 + 1,
            Some(sources.len() as u64),
        ));
    }
    stats.proposals = proposals.len();
    stats.stages.proposal = proposals.first().map(Proposal::code);
    stats.seconds_propose = t.elapsed().as_secs_f64();
    // 2. execute all, drop invalid
    check()?;
    let t = Instant::now();
    progress.report(ProgressEvent::new(
        "execute",
        0,
        Some(proposals.len() as u64),
    ));
    let codes: Vec<String> = proposals.iter().map(Proposal::code).collect();
    let facts = execute_all(pool, &codes, cancel)?;
    stats.executions += codes.len();
    progress.report(ProgressEvent::new(
        "execute",
        proposals.len() as u64,
        Some(proposals.len() as u64),
    ));
    stats.seconds_execute = t.elapsed().as_secs_f64();
    // 3. score the valid ones against the picture
    let t = Instant::now();
    let mut candidates: Vec<Candidate> = proposals
        .into_iter()
        .zip(facts)
        .filter_map(|(p, f)| {
            let facts = f?;
            let agreement = refine::agreement(&p.program, picture)?;
            Some(Candidate {
                program: p.program,
                source: p.source,
                log_prob: p.log_prob,
                facts,
                agreement,
                refined: false,
                evaluations: 0,
            })
        })
        .collect();
    stats.valid = candidates.len();
    if candidates.is_empty() {
        return Err(GenerateError::NothingValid(stats.proposals));
    }
    stats.stages.filtered = candidates.first().map(|c| c.program.to_code_precise());
    candidates.sort_by(|a, b| b.agreement.total.total_cmp(&a.agreement.total));
    stats.stages.reranked = candidates
        .iter()
        .max_by(|a, b| {
            rank(&a.agreement, a.log_prob, a.program.literals().len()).total_cmp(&rank(
                &b.agreement,
                b.log_prob,
                b.program.literals().len(),
            ))
        })
        .map(|c| c.program.to_code_precise());
    // 3b. structural variants of the best few, kept when they match the picture better
    check()?;
    let variants = better_variants(
        &candidates[..opts.variants_of.min(candidates.len())],
        picture,
    );
    if !variants.is_empty() {
        let codes: Vec<String> = variants
            .iter()
            .map(|(_, p, _)| p.to_code_precise())
            .collect();
        let facts = execute_all(pool, &codes, cancel)?;
        stats.executions += codes.len();
        for ((source, program, agreement), facts) in variants.into_iter().zip(facts) {
            if let Some(facts) = facts {
                candidates.push(Candidate {
                    program,
                    source,
                    log_prob: None,
                    facts,
                    agreement,
                    refined: false,
                    evaluations: 0,
                });
            }
        }
        candidates.sort_by(|a, b| b.agreement.total.total_cmp(&a.agreement.total));
    }
    stats.seconds_score = t.elapsed().as_secs_f64();
    // 4. refine. A short coarse run on each of the best `screen_top` candidates shows
    // where each can get (the rank before refinement says little: on the dev part
    // 00002718 the right channel started fifth); the best `refine_top` of those get the
    // full run, from where the coarse run left them. Candidates refine side by side (the
    // native renderer is single-threaded), and budgets count evaluations, so the answer
    // does not depend on the machine's load. A refined program must build in CadQuery.
    let t = Instant::now();
    check()?;
    let budget = |evaluations| RefineBudget {
        evaluations,
        time: opts.refine_time,
    };
    let top = opts.refine_top.min(candidates.len());
    let mut starts: Vec<(usize, Program)> = candidates
        .iter()
        .take(top)
        .enumerate()
        .map(|(i, c)| (i, c.program.clone()))
        .collect();
    let screened = opts.screen_top.min(candidates.len());
    let screening = top > 0 && screened > top;
    // one count over every refinement of the picture, coarse looks first
    let first_full = if screening { screened } else { 0 };
    let budgets = std::iter::repeat_n(opts.screen_evaluations as u64, first_full)
        .chain(std::iter::repeat_n(opts.refine_evaluations as u64, top))
        .collect();
    let combined = CombinedProgress::new(progress, "refine", budgets);
    if screening {
        let coarse: Vec<refine::Refined> = candidates[..screened]
            .par_iter()
            .enumerate()
            .map(|(i, c)| {
                refine::refine_with(
                    &c.program,
                    picture,
                    budget(opts.screen_evaluations),
                    refine::Schedule::Coarse,
                    opts.seed + i as u64,
                    &combined.slot(i),
                    cancel,
                )
            })
            .collect();
        stats.refine_evaluations += coarse.iter().map(|r| r.evaluations).sum::<usize>();
        stats.refine_cut_short += coarse.iter().filter(|r| r.cut_short).count();
        for (c, r) in candidates.iter().zip(&coarse) {
            tracing::debug!(
                source = c.source,
                before = c.agreement.total,
                after = r.after.total,
                "coarse look"
            );
        }
        let mut order: Vec<usize> = (0..screened).collect();
        order.sort_by(|&a, &b| coarse[b].after.total.total_cmp(&coarse[a].after.total));
        starts = order
            .into_iter()
            .take(top)
            .map(|i| (i, coarse[i].program.clone()))
            .collect();
    }
    check()?;
    let results: Vec<refine::Refined> = starts
        .par_iter()
        .enumerate()
        .map(|(k, (i, program))| {
            refine::refine(
                program,
                picture,
                budget(opts.refine_evaluations),
                opts.seed + *i as u64,
                &combined.slot(first_full + k),
                cancel,
            )
        })
        .collect();
    check()?;
    let mut refined = Vec::new();
    for ((i, _), r) in starts.iter().zip(results) {
        let c = &candidates[*i];
        stats.refine_evaluations += r.evaluations;
        stats.refine_cut_short += usize::from(r.cut_short);
        if r.after.total <= c.agreement.total {
            continue;
        }
        let code = r.program.to_code_precise();
        stats.executions += 1;
        if let Some(facts) = execute(pool, &code, cancel)? {
            refined.push(Candidate {
                program: r.program,
                source: c.source.clone(),
                log_prob: None,
                facts,
                agreement: r.after,
                refined: true,
                evaluations: r.evaluations,
            });
        }
    }
    candidates.extend(refined);
    stats.seconds_refine = t.elapsed().as_secs_f64();
    // 5. rerank
    let mut ranked: Vec<(f64, Candidate)> = candidates
        .into_iter()
        .map(|c| {
            let r = rank(&c.agreement, c.log_prob, c.program.literals().len());
            (r, c)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.source.cmp(&b.1.source)));
    ranked.truncate(opts.suggestions.max(1));
    let suggestions = ranked
        .into_iter()
        .map(|(rank_score, c)| {
            let render = Scene::compile(&c.program)
                .ok()
                .and_then(|s| native::render(&s, picture.size, picture.size))
                .map(|r| r.to_image())
                .unwrap_or_else(|| image::RgbImage::new(picture.size, picture.size));
            Suggestion {
                code: c.program.to_code_precise(),
                scores: SuggestionScores {
                    agreement: c.agreement,
                    log_prob: c.log_prob,
                    literals: c.program.literals().len(),
                    rank: rank_score,
                },
                program: c.program,
                facts: c.facts,
                render,
                provenance: Provenance {
                    source: c.source,
                    refined: c.refined,
                    evaluations: c.evaluations,
                },
            }
        })
        .collect();
    Ok((suggestions, stats))
}
