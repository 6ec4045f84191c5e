//! Lines of a property file, for the line numbers of entries that serde does
//! not locate (test entries, found again by their names after parsing).
//!
//! Entries appear in file order, so each search starts at its owner's line
//! (a model after the previous model, a column after its model, a test after
//! its column): a whole file costs about one pass however many entries it
//! has, and a column named like an earlier model's column gets its own line.
//! Reads nothing but the text it is given.

use serde_yaml::Value;

pub struct Lines<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        Lines { lines: text.lines().collect() }
    }

    /// 1-based number of the first line after 1-based line `from` that
    /// contains `needle` (`from` 0: the whole file).
    pub fn after(&self, from: usize, needle: &str) -> Option<usize> {
        self.lines.iter().enumerate().skip(from).find(|(_, l)| l.contains(needle)).map(|(i, _)| i + 1)
    }

    /// The line of key `key:` of the entry whose `name:` is on 1-based line
    /// `entry`: a line at the indentation of that `name:`, before the entry
    /// ends (a column's key of the same name is deeper, so it is passed by).
    pub fn key_of_entry(&self, entry: usize, key: &str) -> Option<usize> {
        let indent = self.lines.get(entry.checked_sub(1)?)?.find("name:")?;
        let wanted = format!("{key}:");
        for (i, l) in self.lines.iter().enumerate().skip(entry) {
            let depth = l.len() - l.trim_start().len();
            if l.trim().is_empty() || l.trim_start().starts_with('#') {
                continue;
            }
            if depth < indent {
                return None;
            }
            if depth == indent && l.trim_start().starts_with(&wanted) {
                return Some(i + 1);
            }
        }
        None
    }

    /// The line of `name: <name>` after line `from`, else anywhere in the file.
    pub fn entry(&self, from: usize, name: &str) -> Option<usize> {
        let needle = format!("name: {name}");
        self.after(from, &needle).or_else(|| self.after(0, &needle))
    }

    /// The line of a version entry `- v: <text>` (quoted or not) after line `from`.
    pub fn version(&self, from: usize, text: &str) -> Option<usize> {
        let is_it = |l: &str| {
            let l = l.trim_start().trim_start_matches('-').trim_start();
            l.strip_prefix("v:").is_some_and(|rest| rest.trim().trim_matches(['\'', '"']) == text)
        };
        self.lines.iter().enumerate().skip(from).find(|(_, l)| is_it(l)).map(|(i, _)| i + 1)
    }

    /// Best-effort line of a test entry: the first line after its owner's
    /// line that mentions the test's name, else the owner's line.
    pub fn test(&self, owner: usize, entry: &Value) -> Option<usize> {
        let name = match entry {
            Value::String(s) => s.as_str(),
            Value::Mapping(m) => m.keys().next().and_then(|k| k.as_str()).unwrap_or(""),
            _ => "",
        };
        (!name.is_empty()).then(|| self.after(owner, name)).flatten().or(Some(owner))
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;
    use serde_yaml::Value;

    #[test]
    fn an_entrys_own_key_is_found_past_its_columns_keys() {
        let text = "models:\n  - name: a\n    columns:\n      - name: id\n        constraints: []\n    constraints: []\n  - name: b\n    constraints: []\n";
        let lines = Lines::new(text);
        assert_eq!(lines.key_of_entry(2, "constraints"), Some(6));
        assert_eq!(lines.key_of_entry(7, "constraints"), Some(8));
        assert_eq!(lines.key_of_entry(7, "columns"), None);
    }

    const TEXT: &str = "models:
  - name: a
    columns:
      - name: id
        data_tests: [unique]
  - name: b
    columns:
      - name: id
        data_tests:
          - not_null
";

    #[test]
    fn searches_start_at_the_owner() {
        let l = Lines::new(TEXT);
        let a = l.entry(0, "a").expect("a");
        let b = l.entry(a, "b").expect("b");
        assert_eq!((a, b), (2, 6));
        assert_eq!(l.entry(a, "id"), Some(4));
        // `b`'s `id` is the second one in the file.
        let b_id = l.entry(b, "id").expect("b.id");
        assert_eq!(b_id, 8);
        assert_eq!(l.test(b_id, &Value::String("not_null".into())), Some(10));
    }

    #[test]
    fn falls_back_to_the_whole_file_then_to_the_owner() {
        let l = Lines::new(TEXT);
        // Searching after `b` for `a` wraps to the top.
        assert_eq!(l.entry(6, "a"), Some(2));
        assert_eq!(l.entry(0, "missing"), None);
        assert_eq!(l.test(4, &Value::String("accepted_values".into())), Some(4));
        assert_eq!(l.test(4, &Value::Null), Some(4));
    }
}
