//! `eval-model`: the model alone (no refinement) on held-out synthetic pictures and on
//! real pictures: greedy decodes (or the likeliest of a beam, `--beam`) with and without
//! the grammar mask, built and scored by the caller's [`ProgramScorer`] (VSR, IoU_vol,
//! IoU_best), and written out as scripts with each picture's scores. `--pick-by-picture`
//! instead keeps the beam's program whose render agrees best with the picture (the
//! caller's [`PickByPicture`]: no execution, no number changed), reported as its own row.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use super::bundle::TrainedModel;
use super::dataset::{is_held_out, read_pairs, Pair};
use super::decode::{DecodeOptions, Strategy};
use super::train::{ProgramScore, StartScorer};

#[derive(clap::Args, Debug)]
pub struct EvalModelArgs {
    /// A `datagen` directory: its held-out split (by id hash, as in `train`) is scored.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Percent of pairs held out, as given to `train`.
    #[arg(long, default_value_t = 3)]
    pub held_out_percent: u64,
    /// How many held-out pairs to score.
    #[arg(long, default_value_t = 200)]
    pub n: usize,
    /// Held-out pairs to pass over first: `--skip 200` scores a second 200 for choosing
    /// (a checkpoint, a constant), so that the first 200 stay unseen for reporting.
    #[arg(long, default_value_t = 0)]
    pub skip: usize,
    /// Directories of real ID.png + ID.py pairs (e.g. the GenCAD dev set), scored whole.
    #[arg(long)]
    pub real: Vec<PathBuf>,
    /// A model directory (default: the embedded model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Where the decoded scripts and report.json go.
    #[arg(long)]
    pub out: PathBuf,
    /// Parallel CadQuery workers for scoring.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Time limit per CadQuery job (build, IoU_vol), in seconds.
    #[arg(long, default_value_t = 20.0)]
    pub timeout: f64,
    /// Beam width: score the likeliest program of a beam search instead of the greedy one
    /// (1: greedy). The choice is the model's own log-probability, nothing else.
    #[arg(long, default_value_t = 1)]
    pub beam: usize,
    /// With --beam: keep the beam's program whose native render agrees best with the
    /// picture (generate's rerank; nothing executed, no number changed), not the likeliest.
    #[arg(long, requires = "beam")]
    pub pick_by_picture: bool,
    /// Draw the --beam N programs by sampling at this temperature (top-p 0.95, `--seed`)
    /// instead of a beam search: more varied programs for --pick-by-picture.
    #[arg(long, requires = "beam")]
    pub sample: Option<f32>,
    /// Seed of `--sample`: another seed tells how much a figure owes to one draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only the masked decode (the unmasked one doubles the time and is needed only to
    /// show what the mask is worth).
    #[arg(long)]
    pub masked_only: bool,
}

/// Top-p of `--sample`.
const SAMPLE_TOP_P: f32 = 0.95;

/// Index of the program (canonical code) that agrees best with the picture, or None when
/// none can be rendered; supplied by the caller, since rendering is the generator's job,
/// not the model's.
pub type PickByPicture<'a> = &'a dyn Fn(&image::DynamicImage, &[String]) -> Option<usize>;

/// One picture's decode and its scores (written beside the scripts as `scores.json`).
#[derive(Debug, Clone, Serialize)]
struct PictureScore {
    id: String,
    valid: bool,
    iou_vol: f64,
    iou_best: f64,
    /// The solid's volumes make no sense (see `ProgramScore::broken`).
    broken: bool,
    /// Which of the beam's programs was kept (0: the likeliest).
    picked: usize,
}

/// Scores of one set of pictures decoded one way.
#[derive(Debug, Clone, Serialize)]
pub struct SetScores {
    pub set: String,
    pub mask: bool,
    /// Beam width of the decodes (1: greedy).
    pub beam: usize,
    /// Sampling temperature when the programs were sampled rather than beam-searched.
    pub temperature: Option<f32>,
    /// How the scored program was chosen: "likeliest" or "picture".
    pub pick: &'static str,
    pub n: usize,
    pub vsr: f64,
    /// Means over all pictures (an invalid program counts 0).
    pub iou_vol: f64,
    /// The same with each picture's IoU_vol capped at 1. OCC's booleans on an invalid
    /// B-rep (a self-crossing profile that CadQuery still builds) can give IoU_vol of 5-30
    /// for one picture, which then lifts the plain mean by several points.
    pub iou_vol_capped: f64,
    /// The honest figure: each picture's IoU_vol capped at 1, and 0 for a broken solid
    /// (no positive volume or radius of gyration, or IoU_vol above 1.05), whose IoU_vol is an
    /// artefact of OCCT's booleans on an invalid B-rep, not a likeness.
    pub iou_vol_sound: f64,
    /// Pictures whose solid came out broken (IoU_vol above 1.05 included).
    pub broken: usize,
    pub iou_best: f64,
    /// Decodes that ended (EOS) within max_len.
    pub complete: f64,
    pub exact: f64,
    pub decode_seconds: f64,
}

impl SetScores {
    fn line(&self) -> String {
        format!(
            "{:<10} {:<7} {:<7} n={:<4} VSR {:.3}  IoU_vol {:.3} (capped at 1 per picture: {:.3}; broken solids as 0: {:.3}, {} broken)  IoU_best {:.3}  complete {:.2}  exact {:.2}  ({:.0} ms/picture)",
            self.set,
            if self.mask { "mask" } else { "no mask" },
            if let Some(t) = self.temperature {
                format!("sample {} t{t} ({})", self.beam, self.pick)
            } else if self.beam > 1 {
                format!("beam {} ({})", self.beam, self.pick)
            } else {
                "greedy".to_string()
            },
            self.n,
            self.vsr,
            self.iou_vol,
            self.iou_vol_capped,
            self.iou_vol_sound,
            self.broken,
            self.iou_best,
            self.complete,
            self.exact,
            1000.0 * self.decode_seconds / self.n.max(1) as f64
        )
    }
}

pub fn run_eval_model(
    args: EvalModelArgs,
    start_scorer: StartScorer,
    pick_by_picture: PickByPicture,
) -> Result<()> {
    let started = Instant::now();
    let model = TrainedModel::load_or_default(args.model.as_deref())?;
    println!(
        "model loaded in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let mut sets: Vec<(String, Vec<Pair>)> = Vec::new();
    if let Some(data) = &args.data {
        let held: Vec<Pair> = read_pairs(data)?
            .into_iter()
            .filter(|p| is_held_out(&p.id, args.held_out_percent))
            .skip(args.skip)
            .take(args.n)
            .collect();
        sets.push(("synthetic".into(), held));
    }
    for dir in &args.real {
        let name = dir
            .file_name()
            .map_or("real".into(), |n| n.to_string_lossy().to_string());
        sets.push((name, read_pairs(dir)?));
    }
    anyhow::ensure!(
        !sets.is_empty(),
        "nothing to evaluate: give --data (a datagen directory) and/or --real DIR"
    );
    let scorer = start_scorer(
        args.jobs,
        std::time::Duration::from_secs_f64(args.timeout.max(0.1)),
    )?;
    let mut report = Vec::new();
    for (name, pairs) in &sets {
        let masks: &[bool] = if args.masked_only {
            &[true]
        } else {
            &[true, false]
        };
        for &mask in masks {
            let dir = args
                .out
                .join(name)
                .join(if mask { "mask" } else { "no-mask" });
            let how = Decoding {
                mask,
                beam: args.beam,
                temperature: args.sample,
                seed: args.seed,
                picker: args.pick_by_picture.then_some(pick_by_picture),
            };
            let s = evaluate_set(&model, name, pairs, &how, &dir, scorer.as_ref())?;
            println!("{}", s.line());
            report.push(s);
        }
    }
    let path = args.out.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("scripts and report.json in {}", args.out.display());
    Ok(())
}

/// How one set is decoded.
struct Decoding<'a> {
    mask: bool,
    beam: usize,
    /// Sample `beam` programs at this temperature instead of a beam search.
    temperature: Option<f32>,
    seed: u64,
    /// Chooses among the beam's programs by the picture (None: the likeliest).
    picker: Option<PickByPicture<'a>>,
}

impl Decoding<'_> {
    fn options(&self, max_tokens: usize) -> DecodeOptions {
        let beam = self.beam;
        DecodeOptions {
            strategy: match self.temperature {
                Some(temperature) => Strategy::Sample {
                    temperature,
                    top_p: SAMPLE_TOP_P,
                },
                None if beam > 1 => Strategy::Beam { width: beam },
                None => Strategy::Greedy,
            },
            // the likeliest of N samples needs all N drawn; a beam finds its likeliest alone
            candidates: if self.picker.is_some() || self.temperature.is_some() {
                beam
            } else {
                1
            },
            max_tokens,
            seed: self.seed,
        }
    }
}

/// Greedy (or beam-best) decodes of every picture of `pairs`, written to `dir/ID.py`, then
/// scored; each picture's scores go to `dir/scores.json`.
fn evaluate_set(
    model: &TrainedModel,
    name: &str,
    pairs: &[Pair],
    how: &Decoding,
    dir: &Path,
    scorer: &dyn super::train::ProgramScorer,
) -> Result<SetScores> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let options = how.options(model.network.config.max_len);
    let started = Instant::now();
    let mut programs = Vec::new();
    let mut picks = Vec::new();
    let (mut complete, mut exact) = (0usize, 0usize);
    for pair in pairs {
        let img = image::open(&pair.picture)
            .with_context(|| format!("cannot read {}", pair.picture.display()))?;
        let found = model.propose(&img, &options, how.mask)?;
        let picked = match how.picker {
            Some(pick) if found.len() > 1 => {
                let codes: Vec<String> = found.iter().map(|c| c.code.clone()).collect();
                pick(&img, &codes).unwrap_or(0)
            }
            _ => 0,
        };
        picks.push(picked);
        let code = match found.into_iter().nth(picked) {
            Some(c) => {
                complete += c.complete as usize;
                c.code
            }
            None => String::new(),
        };
        exact += (code == pair.code) as usize;
        std::fs::write(dir.join(format!("{}.py", pair.id)), &code)?;
        programs.push((code, pair.code.clone()));
    }
    let decode_seconds = started.elapsed().as_secs_f64();
    let scores = scorer.score(&programs)?;
    let per_picture: Vec<PictureScore> = pairs
        .iter()
        .zip(&scores)
        .zip(&picks)
        .map(|((pair, s), &picked)| PictureScore {
            id: pair.id.clone(),
            valid: s.valid,
            iou_vol: s.iou_vol,
            iou_best: s.iou_best,
            broken: s.broken,
            picked,
        })
        .collect();
    let path = dir.join("scores.json");
    std::fs::write(&path, serde_json::to_string_pretty(&per_picture)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(summarize(
        name,
        how,
        &scores,
        complete,
        exact,
        decode_seconds,
    ))
}

fn summarize(
    name: &str,
    how: &Decoding,
    scores: &[ProgramScore],
    complete: usize,
    exact: usize,
    decode_seconds: f64,
) -> SetScores {
    let n = scores.len().max(1) as f64;
    SetScores {
        set: name.to_string(),
        mask: how.mask,
        beam: how.beam,
        temperature: how.temperature,
        pick: if how.picker.is_some() {
            "picture"
        } else {
            "likeliest"
        },
        n: scores.len(),
        vsr: scores.iter().filter(|s| s.valid).count() as f64 / n,
        iou_vol: scores.iter().map(|s| s.iou_vol).sum::<f64>() / n,
        iou_vol_capped: scores.iter().map(|s| s.iou_vol.min(1.0)).sum::<f64>() / n,
        iou_vol_sound: scores
            .iter()
            .map(|s| if s.broken { 0.0 } else { s.iou_vol.min(1.0) })
            .sum::<f64>()
            / n,
        broken: scores.iter().filter(|s| s.broken).count(),
        iou_best: scores.iter().map(|s| s.iou_best).sum::<f64>() / n,
        complete: complete as f64 / n,
        exact: exact as f64 / n,
        decode_seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_programs_count_zero_and_broken_solids_are_capped_or_zero_in_the_means() {
        let s = |valid, v: f64| ProgramScore {
            valid,
            iou_vol: v,
            iou_best: v,
            broken: v > 1.05,
        };
        let how = Decoding {
            mask: true,
            beam: 1,
            temperature: None,
            seed: 0,
            picker: None,
        };
        let r = summarize(
            "x",
            &how,
            &[s(true, 0.8), s(false, 0.0), s(true, 7.6), s(true, 1.00001)],
            2,
            1,
            1.0,
        );
        assert_eq!(r.n, 4);
        assert!((r.vsr - 0.75).abs() < 1e-12);
        assert!((r.iou_vol - 9.40001 / 4.0).abs() < 1e-9);
        assert!((r.iou_vol_capped - 2.8 / 4.0).abs() < 1e-12);
        assert!((r.iou_vol_sound - 1.8 / 4.0).abs() < 1e-12);
        assert_eq!(r.broken, 1);
        assert_eq!((r.beam, r.pick), (1, "likeliest"));
        assert!((r.exact - 0.25).abs() < 1e-12);
    }

    #[test]
    fn every_program_to_choose_from_is_decoded_and_greedy_decodes_one() {
        let pick: PickByPicture = &|_, _| Some(0);
        let how = |beam, temperature, picker| Decoding {
            mask: true,
            beam,
            temperature,
            seed: 7,
            picker,
        };
        let greedy = how(1, None, None).options(50);
        assert_eq!((greedy.strategy, greedy.candidates), (Strategy::Greedy, 1));
        let likeliest = how(4, None, None).options(50);
        assert_eq!(likeliest.strategy, Strategy::Beam { width: 4 });
        assert_eq!(likeliest.candidates, 1);
        assert_eq!(how(8, None, Some(pick)).options(50).candidates, 8);
        let sampled = how(16, Some(0.7), None).options(50);
        assert_eq!(sampled.candidates, 16);
        assert_eq!(
            sampled.strategy,
            Strategy::Sample {
                temperature: 0.7,
                top_p: SAMPLE_TOP_P
            }
        );
        assert_eq!((sampled.max_tokens, sampled.seed), (50, 7));
    }
}
