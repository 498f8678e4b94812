//! Python's own "Did you mean" rule (`CPython`'s `Python/suggestions.c`): the
//! closest name by a Levenshtein distance where a change of case costs half
//! a move, accepted only when at most a third of the characters involved
//! change. Using the interpreter's rule keeps the remedy to suggestions a
//! Python user already trusts.

const MOVE_COST: usize = 2;
const CASE_COST: usize = 1;
/// Longer names are never suggested (`MAX_STRING_SIZE` in `CPython`).
const MAX_STRING_SIZE: usize = 40;

fn substitution_cost(a: u8, b: u8) -> usize {
    if a == b {
        0
    } else if a.eq_ignore_ascii_case(&b) {
        CASE_COST
    } else {
        MOVE_COST
    }
}

/// The distance between `a` and `b`, or `max + 1` as soon as it must exceed `max`.
fn distance(a: &str, b: &str, max: usize) -> usize {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while let ([x, ra @ ..], [y, rb @ ..]) = (a, b)
        && x == y
    {
        (a, b) = (ra, rb);
    }
    while let ([ra @ .., x], [rb @ .., y]) = (a, b)
        && x == y
    {
        (a, b) = (ra, rb);
    }
    if a.is_empty() || b.is_empty() {
        return (a.len() + b.len()) * MOVE_COST;
    }
    if a.len() > MAX_STRING_SIZE || b.len() > MAX_STRING_SIZE {
        return max + 1;
    }
    if a.len() > b.len() {
        std::mem::swap(&mut a, &mut b);
    }
    // Not worth computing when the lengths alone cost too much.
    if (b.len() - a.len()) * MOVE_COST > max {
        return max + 1;
    }
    let mut row: Vec<usize> = (1..=a.len()).map(|i| i * MOVE_COST).collect();
    let mut result = 0;
    for (bi, &bc) in b.iter().enumerate() {
        let mut diagonal = bi * MOVE_COST;
        result = diagonal;
        let mut row_min = usize::MAX;
        for (ai, &ac) in a.iter().enumerate() {
            let substitute = diagonal + substitution_cost(ac, bc);
            diagonal = row[ai];
            let insert_delete = result.min(diagonal) + MOVE_COST;
            result = insert_delete.min(substitute);
            row[ai] = result;
            row_min = row_min.min(result);
        }
        if row_min > max {
            return max + 1;
        }
    }
    result
}

/// The name among `candidates` that Python would suggest for `name`: the
/// closest within its limit, the first of equals in `candidates`' order.
pub(crate) fn suggest<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let mut best: Option<(&str, usize)> = None;
    for item in candidates {
        if item == name {
            continue;
        }
        let mut max = (name.len() + item.len() + 3) * MOVE_COST / 6;
        if let Some((_, d)) = best {
            max = max.min(d.saturating_sub(1));
        }
        let d = distance(name, item, max);
        if d <= max && best.is_none_or(|(_, b)| d < b) {
            best = Some((item, d));
        }
    }
    best.map(|(item, _)| item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_what_python_suggests() {
        // Each checked against CPython 3.12 (`traceback._levenshtein_distance`, same limits).
        assert_eq!(
            suggest("normalise_whitespace", ["slugify", "normalize_whitespace"]),
            Some("normalize_whitespace")
        );
        assert_eq!(
            suggest("step_txt", ["part", "step_text", "start"]),
            Some("step_text")
        );
        assert_eq!(
            suggest("format_amount", ["format_money", "split_evenly"]),
            Some("format_money")
        );
        assert_eq!(suggest("Colour", ["colour"]), Some("colour"));
        // Too different: a third of the characters would change.
        assert_eq!(suggest("_items", ["_lines", "reserve"]), None);
        assert_eq!(suggest("compute_shipping", ["shipping_cost"]), None);
        assert_eq!(suggest("x", ["x"]), None);
    }

    #[test]
    fn nearest_wins_and_the_first_of_equals() {
        assert_eq!(suggest("totl", ["tootal", "total"]), Some("total"));
        assert_eq!(suggest("ab", ["ax", "ay"]), Some("ax"));
    }

    #[test]
    fn distance_counts_moves_and_case() {
        assert_eq!(distance("kitten", "sitting", 100), 3 * MOVE_COST);
        assert_eq!(distance("Name", "name", 100), CASE_COST);
        assert_eq!(distance("abc", "abc", 100), 0);
        assert_eq!(distance("", "abc", 100), 3 * MOVE_COST);
        assert!(distance("abcdef", "uvwxyz", 3) > 3);
    }
}
