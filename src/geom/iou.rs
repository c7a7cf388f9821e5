//! The field's IoU_best, reproduced from `../shared/tools/iou_ref.py`, and a filled-voxel
//! variant for fast internal use. IoU_vol (exact B-rep booleans) runs in the CadQuery worker.

use super::mass::{triangle_mass_properties, MassProperties};
use super::mesh::Mesh;
use super::voxel::{filled_voxels, surface_voxels, VoxelError, VoxelSet};

/// The voxel pitch of IoU_best, in units of the radius of gyration.
pub const PITCH: f64 = 0.05;

/// The 4 sign patterns of the principal axes the reference tries (not all 8: the rest
/// would be mirror images or duplicates under its convention).
const SIGNS: [[f64; 3]; 4] = [
    [1.0, 1.0, 1.0],
    [1.0, 1.0, -1.0],
    [1.0, -1.0, 1.0],
    [-1.0, 1.0, 1.0],
];

/// A solid as the metrics see it: its tessellation plus the B-rep's exact mass properties
/// (volume, centroid, inertia about the centroid), which fix the normalization.
#[derive(Debug, Clone, Copy)]
pub struct MeasuredSolid<'a> {
    pub mesh: &'a Mesh,
    pub brep: MassProperties,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IouError {
    #[error("solid has no volume (B-rep volume {0}); nothing to normalize")]
    NoVolume(f64),
    #[error(transparent)]
    Voxel(#[from] VoxelError),
}

/// Triangles translated by the B-rep centroid and scaled by 1 / radius of gyration. Vertices
/// pass through f32 first because the reference reads them back from a binary STL.
pub fn normalized_triangles(solid: &MeasuredSolid) -> Result<Vec<[[f64; 3]; 3]>, IouError> {
    let rg = solid.brep.radius_of_gyration();
    if !(solid.brep.volume > 0.0 && rg.is_finite() && rg > 0.0) {
        return Err(IouError::NoVolume(solid.brep.volume));
    }
    let c = solid.brep.centroid;
    let s = 1.0 / rg;
    let v: Vec<[f64; 3]> = solid
        .mesh
        .vertices
        .iter()
        .map(|p| [0, 1, 2].map(|k| (p[k] as f32 as f64 - c[k]) * s))
        .collect();
    Ok(solid
        .mesh
        .triangles
        .iter()
        .map(|t| t.map(|i| v[i as usize]))
        .collect())
}

/// The rotations that align the prediction's principal axes with the ground truth's:
/// R = A_gt · (A_pred · diag(s))ᵀ for each sign pattern s, principal axes of the
/// normalized meshes (not the B-rep), as the reference takes them.
fn alignments(gt: &[[[f64; 3]; 3]], pr: &[[[f64; 3]; 3]]) -> Vec<[[f64; 3]; 3]> {
    let (_, ag) = triangle_mass_properties(gt.iter().copied()).principal_axes();
    let (_, ap) = triangle_mass_properties(pr.iter().copied()).principal_axes();
    SIGNS
        .iter()
        .map(|s| {
            let mut r = [[0.0; 3]; 3];
            for (i, row) in r.iter_mut().enumerate() {
                for (j, x) in row.iter_mut().enumerate() {
                    *x = (0..3).map(|k| ag[i][k] * s[k] * ap[j][k]).sum();
                }
            }
            r
        })
        .collect()
}

fn rotate(tris: &[[[f64; 3]; 3]], r: &[[f64; 3]; 3]) -> Vec<[[f64; 3]; 3]> {
    tris.iter()
        .map(|t| t.map(|p| [0, 1, 2].map(|i| r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2])))
        .collect()
}

fn best_over_alignments(
    gt: &MeasuredSolid,
    pr: &MeasuredSolid,
    voxelize: impl Fn(&[[[f64; 3]; 3]]) -> Result<VoxelSet, IouError>,
) -> Result<f64, IouError> {
    let g = normalized_triangles(gt)?;
    let p = normalized_triangles(pr)?;
    let gv = voxelize(&g)?;
    let mut best = 0.0f64;
    for r in alignments(&g, &p) {
        best = best.max(gv.iou(&voxelize(&rotate(&p, &r))?));
    }
    Ok(best)
}

/// IoU_best: surface voxels at pitch 0.05 on one grid, best of the 4 axis alignments.
pub fn iou_best(gt: &MeasuredSolid, pr: &MeasuredSolid) -> Result<f64, IouError> {
    best_over_alignments(gt, pr, |t| Ok(surface_voxels(t, PITCH)?))
}

/// Same normalization and alignments, but comparing filled volumes: closer to IoU_vol,
/// without a CadQuery boolean. For ranking and tests, not a reported metric.
pub fn iou_filled(gt: &MeasuredSolid, pr: &MeasuredSolid, pitch: f64) -> Result<f64, IouError> {
    best_over_alignments(gt, pr, |t| Ok(filled_voxels(t, pitch)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::mass::mass_properties;
    use crate::geom::mass::tests::box_mesh;

    fn solid(m: &Mesh) -> MeasuredSolid<'_> {
        MeasuredSolid {
            mesh: m,
            brep: mass_properties(m),
        }
    }

    #[test]
    fn identical_solids_score_one() {
        let m = box_mesh([0.0, 0.0, 0.0], [1.0, 0.6, 0.2]);
        assert_eq!(iou_best(&solid(&m), &solid(&m)).unwrap(), 1.0);
        assert_eq!(iou_filled(&solid(&m), &solid(&m), 0.05).unwrap(), 1.0);
    }

    #[test]
    fn pose_and_scale_do_not_matter() {
        let a = box_mesh([0.0, 0.0, 0.0], [1.0, 0.6, 0.2]);
        // same box, 3x larger, axes permuted, elsewhere in space
        let b = box_mesh([5.0, 1.0, 2.0], [5.0 + 1.8, 1.0 + 0.6, 2.0 + 3.0]);
        let iou = iou_filled(&solid(&a), &solid(&b), 0.05).unwrap();
        assert!(iou > 0.9, "{iou}");
    }

    #[test]
    fn different_shapes_score_lower() {
        let a = box_mesh([0.0; 3], [1.0, 0.6, 0.2]);
        let b = box_mesh([0.0; 3], [1.0, 1.0, 1.0]);
        let iou = iou_best(&solid(&a), &solid(&b)).unwrap();
        assert!(iou < 0.5, "{iou}");
    }

    #[test]
    fn empty_solid_is_an_error() {
        let m = Mesh::default();
        let s = MeasuredSolid {
            mesh: &m,
            brep: MassProperties {
                volume: 0.0,
                centroid: [0.0; 3],
                inertia: [[0.0; 3]; 3],
            },
        };
        assert!(matches!(iou_best(&s, &s), Err(IouError::NoVolume(_))));
    }
}
