//! Snapping: numbers of one kind that ended up within a pixel or two of each other are
//! most likely equal in the design (the sides of a rectangle, holes of one size, features
//! on one plane). DeepCAD's numbers live on coarse grids, so exact equalities are the
//! rule; they also matter beyond the picture: IoU_vol aligns principal axes, and a square
//! that is a hair skewed turns its axes by up to 45 degrees.

use super::layout::Slot;
use super::moves::{movable, same_kind};

/// Candidate equalities: groups of same-kind literals whose values lie within `tol` of
/// their neighbours (and within 2 `tol` overall), not all equal already; tightest first.
pub fn clusters(slots: &[Slot], values: &[f64], tol: f64) -> Vec<Vec<usize>> {
    let mut kinds: Vec<Vec<usize>> = Vec::new();
    for i in movable(slots) {
        match kinds
            .iter_mut()
            .find(|k| same_kind(&slots[i], &slots[k[0]]))
        {
            Some(k) => k.push(i),
            None => kinds.push(vec![i]),
        }
    }
    let mut out: Vec<(f64, Vec<usize>)> = Vec::new();
    for mut kind in kinds {
        kind.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let mut group: Vec<usize> = Vec::new();
        let mut flush = |group: &mut Vec<usize>| {
            if group.len() > 1 {
                let lo = values[group[0]];
                let hi = values[*group.last().expect("not empty")];
                if hi > lo {
                    out.push((hi - lo, std::mem::take(group)));
                }
            }
            group.clear();
        };
        for i in kind {
            let joins = group.last().is_some_and(|&j| {
                values[i] - values[j] <= tol && values[i] - values[group[0]] <= 2.0 * tol
            });
            if !joins {
                flush(&mut group);
            }
            group.push(i);
        }
        flush(&mut group);
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.into_iter().map(|(_, g)| g).collect()
}

/// The values with the group set to its mean.
pub fn snapped(values: &[f64], group: &[usize]) -> Vec<f64> {
    let mean = group.iter().map(|&i| values[i]).sum::<f64>() / group.len() as f64;
    let mut out = values.to_vec();
    for &i in group {
        out[i] = mean;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::layout::layout;
    use super::*;
    use crate::data::Program;

    #[test]
    fn near_equal_sides_cluster_and_far_ones_do_not() {
        let p = Program::parse(
            "import cadquery as cq\n\
             wp_sketch0 = cq.Workplane(cq.Plane(cq.Vector(0.0, 0.0, 0.0), cq.Vector(1.0, 0.0, 0.0), cq.Vector(0.0, 0.0, 1.0)))\n\
             loop0=wp_sketch0.moveTo(1.0, 0.0).lineTo(1.004, 0.5).lineTo(0.0, 0.502).lineTo(0.0, 0.0).close()\n\
             solid0=wp_sketch0.add(loop0).extrude(0.3)\n\
             solid=solid0\n",
        )
        .unwrap();
        let slots = layout(&p);
        let values: Vec<f64> = p.literals().iter().map(|l| l.value).collect();
        let c = clusters(&slots, &values, 0.01);
        let named: Vec<Vec<f64>> = c
            .iter()
            .map(|g| g.iter().map(|&i| values[i]).collect())
            .collect();
        // x: 1.0 ~ 1.004; y: 0.5 ~ 0.502; the zeros are equal already
        assert_eq!(named, vec![vec![0.5, 0.502], vec![1.0, 1.004]], "{named:?}");
        let s = snapped(&values, &c[1]);
        assert!((s[c[1][0]] - 1.002).abs() < 1e-12);
        assert_eq!(s[c[1][0]], s[c[1][1]]);
    }
}
