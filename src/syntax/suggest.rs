//! "Did you mean": the closest known name by edit distance.

/// Optimal-string-alignment distance (edits plus adjacent swaps), case-insensitive
/// differences counted as half an edit so `Extrude` -> `extrude` wins over others.
fn distance(a: &str, b: &str) -> f32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0f32; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i as f32;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j as f32;
    }
    for i in 1..=n {
        for j in 1..=m {
            let sub = if a[i - 1] == b[j - 1] {
                0.0
            } else if a[i - 1].eq_ignore_ascii_case(&b[j - 1]) {
                0.5
            } else {
                1.0
            };
            let mut v = (d[i - 1][j] + 1.0)
                .min(d[i][j - 1] + 1.0)
                .min(d[i - 1][j - 1] + sub);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1.0);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// The known name closest to `wrong`, if it is close enough to be a likely typo.
pub fn closest<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wrong.chars().count() as f32 / 3.0).clamp(1.0, 3.0);
    let mut best: Option<(f32, &str)> = None;
    for k in known {
        if k == wrong {
            continue;
        }
        let dist = distance(wrong, k);
        if dist <= limit && best.is_none_or(|(bd, bk)| dist < bd || (dist == bd && k < bk)) {
            best = Some((dist, k));
        }
    }
    best.map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_but_not_unrelated_names() {
        let known = ["extrude", "faces", "fillet", "workplane", "edges"];
        assert_eq!(closest("extrud", known), Some("extrude"));
        assert_eq!(closest("filet", known), Some("fillet"));
        assert_eq!(closest("Faces", known), Some("faces"));
        assert_eq!(closest("wrokplane", known), Some("workplane"));
        assert_eq!(closest("sphere", known), None);
    }
}
