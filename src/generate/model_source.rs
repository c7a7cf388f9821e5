//! The trained model as a proposal source: beam search under the grammar mask, each
//! candidate repaired (tree-sitter) when it does not parse as canonical code.

use super::picture::Picture;
use super::proposals::{Proposal, ProposalSource};
use crate::data::Program;
use crate::model::bundle::TrainedModel;
use crate::model::decode::{DecodeOptions, Strategy};

const MAX_BEAMS: usize = 6;

pub struct ModelProposals {
    pub model: TrainedModel,
    /// Where the model came from, for provenance ("embedded" or a directory).
    pub origin: String,
    pub max_tokens: usize,
}

/// A canonical program from decoded code: as it is, else after repair.
pub fn program_from_code(code: &str) -> Option<(Program, bool)> {
    if let Ok(p) = Program::parse(code) {
        return Some((p, false));
    }
    let repaired = crate::syntax::repair(code);
    Program::parse(&repaired.code).ok().map(|p| (p, true))
}

impl ProposalSource for ModelProposals {
    fn name(&self) -> &str {
        "model"
    }

    fn propose(&self, picture: &Picture, limit: usize) -> Vec<Proposal> {
        let Some(grey) =
            image::GrayImage::from_raw(picture.size, picture.size, picture.grey.clone())
        else {
            return Vec::new();
        };
        // beams cost time linear in their count on the CPU; a few distinct programs are
        // what the rest of the pipeline needs from the model
        let n = limit.clamp(1, MAX_BEAMS);
        let options = DecodeOptions {
            strategy: Strategy::Beam { width: n },
            candidates: n,
            max_tokens: self.max_tokens,
            seed: 0,
        };
        let candidates =
            match self
                .model
                .propose(&image::DynamicImage::ImageLuma8(grey), &options, true)
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("the model could not propose: {e:#}");
                    return Vec::new();
                }
            };
        candidates
            .into_iter()
            .enumerate()
            .filter_map(|(k, c)| {
                let (program, repaired) = program_from_code(&c.code)?;
                Some(Proposal {
                    program,
                    source: format!(
                        "model:beam{}{}",
                        k + 1,
                        if repaired { "+repair" } else { "" }
                    ),
                    log_prob: Some(c.log_prob as f64),
                })
            })
            .collect()
    }
}

/// Which of `codes` agrees best with the picture at `path` by its native render at 224 px
/// (the pipeline's rerank, before any execution or refinement), programs with a loop
/// CadQuery would not build (`refine::has_bad_loop`) last; None when the picture cannot be
/// read or no program renders. For `eval-model --pick-by-picture`.
pub fn pick_by_picture(path: &std::path::Path, codes: &[String]) -> Option<usize> {
    let picture = Picture::load(path).ok()?;
    codes
        .iter()
        .enumerate()
        .filter_map(|(i, code)| {
            let (program, _) = program_from_code(code)?;
            let total = super::refine::agreement(&program, &picture)?.total;
            Some((i, !super::refine::has_bad_loop(&program), total))
        })
        .max_by(|a, b| {
            (a.1.cmp(&b.1))
                .then(a.2.total_cmp(&b.2))
                .then(b.0.cmp(&a.0))
        })
        .map(|(i, _, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::native::{self, Scene};

    fn xy_part(loop_code: &str, height: f64) -> String {
        format!(
            "import cadquery as cq\n# Generating a workplane for sketch 0\nwp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\nloop0=wp_sketch0.{loop_code}\nsolid0=wp_sketch0.add(loop0).extrude({height})\nsolid=solid0\n"
        )
    }

    /// The program's native render saved as a PNG, as a picture file would be.
    fn picture_file(code: &str, dir: &std::path::Path) -> std::path::PathBuf {
        let program = Program::parse(code).unwrap();
        let scene = Scene::compile(&program).unwrap();
        let render = native::render(&scene, 448, 448).unwrap();
        let path = dir.join("picture.png");
        render.to_image().save(&path).unwrap();
        path
    }

    #[test]
    fn the_program_drawn_in_the_picture_is_picked() {
        let plate = xy_part(
            "moveTo(0.0, 0.0).lineTo(1.0, 0.0).lineTo(1.0, 0.5).lineTo(0.0, 0.5).close()",
            0.1,
        );
        let rod = xy_part("moveTo(0.25, 0.0).circle(0.25)", 1.5);
        let codes = vec!["not a program".to_string(), plate.clone(), rod.clone()];
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            pick_by_picture(&picture_file(&rod, dir.path()), &codes),
            Some(2)
        );
        assert_eq!(
            pick_by_picture(&picture_file(&plate, dir.path()), &codes),
            Some(1)
        );
        assert_eq!(
            pick_by_picture(&dir.path().join("missing.png"), &codes),
            None
        );
        assert_eq!(
            pick_by_picture(&picture_file(&plate, dir.path()), &codes[..1]),
            None
        );
        // the plate drawn as a bow tie renders much like it, but CadQuery does not build it
        let crossed = xy_part(
            "moveTo(0.0, 0.0).lineTo(1.0, 0.0).lineTo(0.0, 0.5).lineTo(1.0, 0.5).close()",
            0.1,
        );
        let picture = picture_file(&plate, dir.path());
        assert_eq!(
            pick_by_picture(&picture, &[crossed.clone(), rod.clone()]),
            Some(1)
        );
        assert_eq!(pick_by_picture(&picture, &[crossed]), Some(0));
    }
}
