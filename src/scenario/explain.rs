//! How a scenario's read errors are told: the TOML reader's message on one line with its place,
//! a "did you mean" for an unknown field or kind, and the helpers validation shares (the
//! closest known id, ids declared twice).
//!
//! Owns: `explain_toml_error`, `closest`, `duplicates`. Reads: nothing. Never: the scenario's
//! content.

use std::collections::HashSet;

/// Turns the TOML reader's multi-line message into one line, `line L, column C: what`, and adds
/// a "did you mean" suggestion to an unknown field.
pub(super) fn explain_toml_error(raw: &str) -> String {
    let lines: Vec<&str> = raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let what = lines.last().copied().unwrap_or(raw).to_string();
    let place = lines
        .first()
        .and_then(|l| l.strip_prefix("TOML parse error at "))
        .map(|p| format!("{p}: "))
        .unwrap_or_default();
    let mut msg = format!("{place}{what}");
    let unknown = what
        .strip_prefix("unknown field `")
        .or_else(|| what.strip_prefix("unknown variant `"));
    if let Some(rest) = unknown {
        let bad = rest.split('`').next().unwrap_or("");
        let known: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        if let Some(best) = closest(bad, &known) {
            msg.push_str(&format!("; did you mean `{best}`?"));
        }
    }
    msg
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + (a[i - 1] != b[j - 1]) as usize;
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Ids that appear twice in `ids`.
pub(crate) fn duplicates<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    let mut dup = Vec::new();
    for id in ids {
        if !seen.insert(id) && !dup.contains(&id) {
            dup.push(id);
        }
    }
    dup
}
