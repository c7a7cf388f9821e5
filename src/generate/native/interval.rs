//! Solids along one ray: sorted, disjoint spans of the ray parameter, each end labelled
//! with the surface it lies on; union / cut / intersect are set operations on spans.

use crate::data::Combine;

/// A surface of the scene: prism index and part (see `scene::Part`).
pub type FaceId = u32;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Boundary {
    pub t: f64,
    pub face: FaceId,
}

/// The ray is inside the solid between `enter.t` and `exit.t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub enter: Boundary,
    pub exit: Boundary,
}

/// `acc = acc (op) other`, using `scratch` as working space.
pub fn combine_into(acc: &mut Vec<Span>, other: &[Span], op: Combine, scratch: &mut Vec<Span>) {
    let keep = |in_a: bool, in_b: bool| match op {
        Combine::New | Combine::Union => in_a || in_b,
        Combine::Cut => in_a && !in_b,
        Combine::Intersect => in_a && in_b,
    };
    // fast paths: most rays meet only one of the two
    if other.is_empty() {
        if op == Combine::Intersect {
            acc.clear();
        }
        return;
    }
    if acc.is_empty() {
        if matches!(op, Combine::New | Combine::Union) {
            acc.extend_from_slice(other);
        }
        return;
    }
    scratch.clear();
    let (mut i, mut j) = (0usize, 0usize);
    let (mut in_a, mut in_b) = (false, false);
    let mut open: Option<Boundary> = None;
    // events in t order: (boundary, from a?, entering?)
    loop {
        let next_a = acc
            .get(i / 2)
            .map(|s| if i % 2 == 0 { s.enter } else { s.exit });
        let next_b = other
            .get(j / 2)
            .map(|s| if j % 2 == 0 { s.enter } else { s.exit });
        let from_a = match (next_a, next_b) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a.t <= b.t,
        };
        let boundary = if from_a {
            in_a = i % 2 == 0;
            i += 1;
            next_a.expect("checked")
        } else {
            in_b = j % 2 == 0;
            j += 1;
            next_b.expect("checked")
        };
        let inside = keep(in_a, in_b);
        match (open, inside) {
            (None, true) => open = Some(boundary),
            (Some(enter), false) => {
                if boundary.t > enter.t {
                    scratch.push(Span {
                        enter,
                        exit: boundary,
                    });
                }
                open = None;
            }
            _ => {}
        }
    }
    std::mem::swap(acc, scratch);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: f64, b: f64, face: u32) -> Span {
        Span {
            enter: Boundary { t: a, face },
            exit: Boundary { t: b, face },
        }
    }

    fn run(a: &[Span], b: &[Span], op: Combine) -> Vec<(f64, f64, u32, u32)> {
        let mut acc = a.to_vec();
        combine_into(&mut acc, b, op, &mut Vec::new());
        acc.iter()
            .map(|s| (s.enter.t, s.exit.t, s.enter.face, s.exit.face))
            .collect()
    }

    #[test]
    fn set_operations_keep_the_surfaces() {
        let a = [span(0.0, 4.0, 1)];
        let b = [span(1.0, 2.0, 2), span(3.0, 5.0, 3)];
        assert_eq!(
            run(&a, &b, Combine::Cut),
            vec![(0.0, 1.0, 1, 2), (2.0, 3.0, 2, 3)]
        );
        assert_eq!(run(&a, &b, Combine::Union), vec![(0.0, 5.0, 1, 3)]);
        assert_eq!(
            run(&a, &b, Combine::Intersect),
            vec![(1.0, 2.0, 2, 2), (3.0, 4.0, 3, 1)]
        );
        assert!(run(&a, &[], Combine::Intersect).is_empty());
        assert_eq!(run(&[], &b, Combine::Cut), vec![]);
    }
}
