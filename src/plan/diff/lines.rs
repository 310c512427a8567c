//! A line diff of two multi-line scripts (longest common subsequence; scripts are short).

use serde_json::Value;

/// When either side is a `run` action (or string) with a multi-line script: the line diff.
pub(super) fn script_lines(before: &Value, after: &Value) -> Option<Vec<String>> {
    let script = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("script").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    };
    let (a, b) = (script(before).unwrap_or_default(), script(after).unwrap_or_default());
    if !a.contains('\n') && !b.contains('\n') {
        return None;
    }
    Some(diff(&a.lines().collect::<Vec<_>>(), &b.lines().collect::<Vec<_>>()))
}

fn diff(a: &[&str], b: &[&str]) -> Vec<String> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] =
                if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!(" {}", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("-{}", a[i]));
            i += 1;
        } else {
            out.push(format!("+{}", b[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_in_order() {
        let d = super::diff(&["a", "b", "c"], &["a", "x", "c"]);
        assert_eq!(d, [" a", "-b", "+x", " c"]);
    }
}
